"""Delete dead jobs for good: the DLQ entry and, unless kept, RQ's failed job with it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from failure_handlers.dlq.store import SCAN_BATCH, DeadLetterQueue


def delete_dead_jobs(
    connection: Redis,
    dlq: DeadLetterQueue,
    job_ids: Sequence[str],
    keep_job: bool = False,
    outcome: str = "deleted",
    by: str = "",
) -> int:
    """Delete the DLQ entries of `job_ids`; unless `keep_job`, also take each job out of its queue's
    FailedJobRegistry and delete its RQ hash and results. Returns how many DLQ entries were deleted.

    With `keep_job` each job is also *dismissed* (`DeadLetterQueue.dismiss`): deleted from the DLQ while
    its RQ job stays failed, so the reconciler does not bring its entry back.

    Batched: three round trips per 1,000 jobs, the entries' `queue` field only read, one ZREM per queue. `outcome` (deleted, or purged for `rq-dlq purge`) and `by`
    go to the failure archive when it is on.
    """
    deleted = 0
    registries: dict[str, str] = {}  # queue -> its FailedJobRegistry's key
    for start in range(0, len(job_ids), SCAN_BATCH):
        chunk = list(job_ids[start : start + SCAN_BATCH])
        if not keep_job:
            by_queue: dict[str, list[str]] = defaultdict(list)
            for job_id, queue in zip(chunk, dlq.queues_of(chunk), strict=True):
                if queue:
                    by_queue[queue].append(job_id)
            with connection.pipeline(transaction=False) as pipe:
                for queue, ids in by_queue.items():
                    if queue not in registries:
                        registries[queue] = FailedJobRegistry(queue, connection=connection).key
                    pipe.zrem(registries[queue], *ids)
                job_keys = [(Job.key_for(job_id), Job.dependents_key_for(job_id), Result.get_key(job_id)) for job_id in chunk]
                pipe.delete(*(key for keys in job_keys for key in keys))
                pipe.execute()
        else:
            dlq.dismiss(chunk)  # the reconciler must not bring these back from the failed registry
        deleted += dlq.delete(chunk, outcome=outcome, by=by)
    return deleted
