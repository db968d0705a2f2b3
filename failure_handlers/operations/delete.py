"""Delete dead jobs for good: the DLQ entry and, unless kept, RQ's failed job with it."""

from __future__ import annotations

from collections.abc import Sequence

from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from failure_handlers.dlq.store import DELETES_PER_TRIP, SCAN_BATCH, DeadLetterQueue

_NAME = "\x00"  # stands for the job id (or queue name) in `rq_key_names`; never part of one RQ builds


def delete_dead_jobs(
    connection: Redis,
    dlq: DeadLetterQueue,
    job_ids: Sequence[str],
    keep_job: bool = False,
    outcome: str = "deleted",
    by: str = "",
) -> int:
    """Delete the DLQ entries of `job_ids`; unless `keep_job`, also take each job out of its queue's
    FailedJobRegistry and delete its RQ hash, dependents and results. Returns how many DLQ entries
    were deleted.

    With `keep_job` each job is also *dismissed* (`DeadLetterQueue.dismiss`): deleted from the DLQ while
    its RQ job stays failed, so the reconciler does not bring its entry back.

    Batched, 1,000 jobs at a time, one delete script each (`storage/lua/delete.lua`, three per round
    trip): it reads each entry's index values and queue, and removes the entry, its index members and
    (unless `keep_job`) its RQ job together, atomically; a job whose entry is gone by then is left
    alone (it may be live again). `outcome` (deleted, or purged for `rq-dlq purge`) and `by` go to the
    failure archive when it is on.
    """
    rq_keys = () if keep_job else rq_key_names(connection)
    deleted = 0
    for start in range(0, len(job_ids), SCAN_BATCH * DELETES_PER_TRIP):
        chunk = job_ids[start : start + SCAN_BATCH * DELETES_PER_TRIP]
        if keep_job:
            dlq.dismiss(chunk)  # the reconciler must not bring these back from the failed registry
        deleted += dlq.delete(chunk, outcome, by, rq_keys=rq_keys)
    return deleted


def rq_key_names(connection: Redis | None = None) -> tuple[str, ...]:
    """RQ's key names as the delete script builds them, each split around the name it is built from
    (prefix, suffix): a queue's FailedJobRegistry, then a job's hash, dependents and result. Taken
    from RQ's own classes, so they follow RQ: the script never spells an RQ key itself."""
    names = (
        FailedJobRegistry(_NAME, connection=connection).key,
        Job.key_for(_NAME),
        Job.dependents_key_for(_NAME),
        Result.get_key(_NAME),
    )
    split: list[str] = []
    for name in names:
        prefix, marker, suffix = name.partition(_NAME)
        if not marker or _NAME in suffix:
            raise ValueError(f"RQ builds the key {name!r} in a way the delete script cannot follow")
        split += (prefix, suffix)
    return tuple(split)
