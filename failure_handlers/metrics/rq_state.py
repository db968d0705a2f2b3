"""RQ 3.0's own state for `/metrics`, read-only, with rq-exporter's metric names and labels.

Counts come from RQ's structures through RQ's own key names (queue list LLEN, registry ZCARD):
never a registry method with cleanup, never a job fetched or unpickled. Two pipelined round trips.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis
from rq import Queue, Worker
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ReadyJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from failure_handlers.dlq.text import text, text_list

# status label -> key template of the registry that holds jobs in that status ('queued': the queue list).
# RQ 3.0 keeps stopped jobs in the failed registry (counted as `failed`); `created`, `rate_limited`
# have no structure of their own to count without reading every job.
REGISTRIES = {
    "started": StartedJobRegistry.key_template,
    "finished": FinishedJobRegistry.key_template,
    "failed": FailedJobRegistry.key_template,
    "deferred": DeferredJobRegistry.key_template,
    "scheduled": ScheduledJobRegistry.key_template,
    "canceled": CanceledJobRegistry.key_template,
    "ready_to_enqueue": ReadyJobRegistry.key_template,
}
STATUSES = ("queued", *REGISTRIES)
_WORKER_FIELDS = ("queues", "state", "successful_job_count", "failed_job_count", "total_working_time")


@dataclass(frozen=True)
class WorkerState:
    name: str
    queues: str
    state: str
    successful: int
    failed: int
    working_seconds: float


@dataclass(frozen=True)
class RqState:
    jobs: dict[str, dict[str, int]]  # queue -> status -> count
    workers: list[WorkerState]


def read_rq_state(connection: Redis) -> RqState:
    """Jobs per queue and status, and every registered worker (two pipelined round trips)."""
    with connection.pipeline(transaction=False) as pipe:
        pipe.smembers(Queue.redis_queues_keys)
        pipe.smembers(Worker.redis_workers_keys)
        queue_keys, worker_keys = pipe.execute()
    prefix = Queue.redis_queue_namespace_prefix
    queues = sorted(key.removeprefix(prefix) for key in text_list(queue_keys) if key.startswith(prefix))
    workers = sorted(text_list(worker_keys))
    with connection.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(prefix + queue)
            for template in REGISTRIES.values():
                pipe.zcard(template.format(queue))
        for key in workers:
            pipe.hmget(key, *_WORKER_FIELDS)
        replies = pipe.execute()
    per_queue = len(STATUSES)
    jobs = {
        queue: dict(zip(STATUSES, map(int, replies[n * per_queue : (n + 1) * per_queue]), strict=True))
        for n, queue in enumerate(queues)
    }
    states = []
    for key, row in zip(workers, replies[len(queues) * per_queue :], strict=True):
        if not any(row):
            continue  # registered but its hash expired: a dead worker RQ has not cleaned up yet
        queues_text, state, successful, failed, working = (text(value) if value else "" for value in row)
        states.append(
            WorkerState(
                name=key.removeprefix(Worker.redis_worker_namespace_prefix),
                queues=queues_text,
                state=state or "?",
                successful=int(successful or 0),
                failed=int(failed or 0),
                working_seconds=float(working or 0),
            )
        )
    return RqState(jobs, states)
