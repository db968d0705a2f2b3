"""Saving an RQ job's meta inside a pipeline, so it can share a round trip with other writes."""

from __future__ import annotations

from redis.client import Pipeline
from rq.job import Job


def queue_save_meta(job: Job, pipe: Pipeline) -> None:
    """Queue on `pipe` exactly what `job.save_meta()` sends (rq 3.0: HSET <job key> meta <bytes>).

    `Job._serialize_meta` keeps meta that this process could not deserialize byte for byte, as
    `save_meta` does; re-check it when upgrading rq (docs/rq-behaviour.md#the-failure-callback).
    """
    pipe.hset(job.key, "meta", serialized_meta(job))


def serialized_meta(job: Job) -> bytes:
    """The bytes `job.save_meta()` stores in the job hash's `meta` field (see `queue_save_meta`)."""
    return job._serialize_meta()
