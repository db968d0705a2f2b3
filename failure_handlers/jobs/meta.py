"""Saving an RQ job's meta inside a pipeline, so it can share a round trip with other writes."""

from __future__ import annotations

from redis.client import Pipeline
from redis.typing import EncodableT, FieldT
from rq.job import Job


def serialized_meta(job: Job) -> bytes:
    """The bytes `job.save_meta()` stores in the job hash's `meta` field (rq 3.0: HSET <job key> meta).

    `Job._serialize_meta` keeps meta that this process could not deserialize byte for byte, as
    `save_meta` does; re-check it when upgrading rq (docs/rq-behaviour.md#the-failure-callback).
    """
    return job._serialize_meta()


def queue_save_final(job: Job, pipe: Pipeline) -> None:
    """Queue on `pipe` the meta save of a final failure, with `retries_left` 0 when the job has a
    retry budget.

    RQ stores `retries_left` only when it fails the job, after the handlers; a worker or server that
    dies in between would leave the old budget, so the job, cleaned up as abandoned later, would be
    retried (a permanent failure run again and dead-lettered a second time). Stored here, in the same
    round trip as the DLQ entry, it is what RQ itself stores a moment later.
    """
    fields: dict[FieldT, EncodableT] = {"meta": serialized_meta(job)}
    if job.retries_left is not None:
        fields["retries_left"] = 0
    pipe.hset(job.key, mapping=fields)
