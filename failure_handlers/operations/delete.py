"""Delete dead jobs for good: the DLQ entry and, unless kept, RQ's failed job with it."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from redis import Redis
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.results import Result

from failure_handlers.dlq.store import SCAN_BATCH, DeadLetterQueue

_IN_FLIGHT = 2  # DLQ delete scripts queued ahead at most


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

    Batched, 1,000 jobs at a time: the entries' `queue` fields read in one round trip, the RQ jobs
    deleted in a second one (one ZREM per queue, one DEL), and the DLQ entries by the delete script,
    on a second connection while the next chunk goes on. `outcome` (deleted, or purged for
    `rq-dlq purge`) and `by` go to the failure archive when it is on.
    """
    registries: dict[str, str] = {}  # queue -> its FailedJobRegistry's key
    pending: deque[Future[int]] = deque()
    deleted = 0
    # The DLQ deletes (a script each, the server's work) run on a second connection while this one
    # reads and deletes the next chunk's RQ jobs: a purge of 100,000 costs the larger of the two.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlq-delete") as background:
        for start in range(0, len(job_ids), SCAN_BATCH):
            chunk = list(job_ids[start : start + SCAN_BATCH])
            if not keep_job:
                _delete_rq_jobs(connection, dlq, chunk, registries)
            else:
                dlq.dismiss(chunk)  # the reconciler must not bring these back from the failed registry
            pending.append(background.submit(dlq.delete, chunk, outcome, by))
            while len(pending) > _IN_FLIGHT:
                deleted += pending.popleft().result()
        while pending:
            deleted += pending.popleft().result()
    return deleted


def _delete_rq_jobs(connection: Redis, dlq: DeadLetterQueue, chunk: Sequence[str], registries: dict[str, str]) -> None:
    """Take each job out of its queue's FailedJobRegistry (one ZREM per queue) and delete its RQ hash,
    dependents and results (one DEL): one round trip to read the entries' queues, one to delete."""
    by_queue: dict[str, list[str]] = defaultdict(list)
    for job_id, queue in zip(chunk, dlq.queues_of(chunk), strict=True):
        if queue:
            by_queue[queue].append(job_id)
    with connection.pipeline(transaction=False) as pipe:
        for queue, ids in by_queue.items():
            if queue not in registries:
                registries[queue] = FailedJobRegistry(queue, connection=connection).key
            pipe.zrem(registries[queue], *ids)
        keys = [(Job.key_for(job_id), Job.dependents_key_for(job_id), Result.get_key(job_id)) for job_id in chunk]
        pipe.delete(*(key for triple in keys for key in triple))
        pipe.execute()
