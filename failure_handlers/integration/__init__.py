"""Adopting the failure handling in an existing RQ application without changing its call sites:
the worker's exception handler (every job, however enqueued) and a queue class that applies the
configured retry policy (new jobs); and `TracingWorker`, a worker whose job runs are OpenTelemetry spans."""

from failure_handlers.integration.queue import NO_RETRY, RetryingQueue, own_queue, queue_named, use_queue_factory
from failure_handlers.integration.tracing_worker import TracingSimpleWorker, TracingWorker
from failure_handlers.integration.worker import record_failure
from failure_handlers.retry.plan import build_retry
from failure_handlers.retry.task_options import TaskOptions, task

__all__ = [
    "NO_RETRY",
    "RetryingQueue",
    "TaskOptions",
    "TracingSimpleWorker",
    "TracingWorker",
    "build_retry",
    "own_queue",
    "queue_named",
    "record_failure",
    "task",
    "use_queue_factory",
]
