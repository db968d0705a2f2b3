"""Saving an RQ job's meta inside our own scripts, so it shares their command and round trip."""

from __future__ import annotations

from dataclasses import dataclass

from rq.job import Job


def serialized_meta(job: Job) -> bytes:
    """The bytes `job.save_meta()` stores in the job hash's `meta` field (rq 3.0: HSET <job key> meta).

    `Job._serialize_meta` keeps meta that this process could not deserialize byte for byte, as
    `save_meta` does; re-check it when upgrading rq (docs/rq-behaviour.md#the-failure-callback).
    """
    return job._serialize_meta()


@dataclass(frozen=True)
class FinalMetaSave:
    """A final failure's save of the job's meta, which the DLQ's add script does first (lua/add.lua):
    HSET <key> meta <meta>, and `retries_left` 0 when `zero_retries_left`."""

    key: str
    meta: bytes
    zero_retries_left: bool


def final_meta_save(job: Job) -> FinalMetaSave:
    """The meta save of a final failure, with `retries_left` 0 when the job has a retry budget.

    RQ stores `retries_left` only when it fails the job, after the handlers; a worker or server that
    dies in between would leave the old budget, so the job, cleaned up as abandoned later, would be
    retried (a permanent failure run again and dead-lettered a second time). Stored here, in the same
    command as the DLQ entry, it is what RQ itself stores a moment later.
    """
    return FinalMetaSave(job.key, serialized_meta(job), job.retries_left is not None)
