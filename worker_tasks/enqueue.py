"""Enqueue plain sync functions with the configured retry policy and the failure handler attached.

A thin convenience over `failure_handlers.integration.RetryingQueue` (which an application can
also use directly as its `Queue`). Precedence for retry and timeout: what the caller passes > the
task's `@task(...)` options > `RETRY_MAX` / `RETRY_INTERVALS` / `JOB_TIMEOUT` from the configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Retry
from rq.job import Job

from failure_handlers.config import Settings
from failure_handlers.idempotency.dedup import validate_dedup_key
from failure_handlers.integration import NO_RETRY, TaskOptions, build_retry, queue_named, task


class _FromConfig:
    def __repr__(self) -> str:
        return "FROM_CONFIG"


FROM_CONFIG: Any = _FromConfig()

__all__ = ["FROM_CONFIG", "TaskOptions", "build_retry", "enqueue", "task"]


def enqueue(
    func: Callable[..., Any] | str,
    *args: Any,
    queue: str = "default",
    connection: Redis | None = None,
    retry: Retry | None = FROM_CONFIG,
    job_timeout: int | None = None,
    settings: Settings | None = None,
    dedup_key: str | None = None,
    **options: Any,
) -> Job:
    """Enqueue `func(*args, **kwargs)` on `queue` with retries, timeout and `on_failure` attached.

    `func` is a function or its dotted path; `retry=None` means no retries. Other keyword arguments
    follow `rq.Queue.enqueue`: RQ's own options (`job_id`, `at_front`, `meta`, `result_ttl`,
    `kwargs=` ...) are used by RQ, the rest are passed to the task.

    `dedup_key="invoice:42"`: at most one job per function and key while RQ keeps the first one;
    a second enqueue returns the existing job (see README "Dedup at enqueue").

    The queue is a `RetryingQueue` on `REDIS_URL`; in a Django project with the app
    `failure_handlers.contrib.django` installed, django-rq's queue of that name (its connection,
    serializer and commit mode: inside `transaction.atomic()` the job is enqueued when the transaction
    commits, and this returns None, as `django_rq.enqueue` does). See docs/django.md.
    """
    if dedup_key is not None:
        validate_dedup_key(dedup_key)  # before connecting: a bad key writes nothing anywhere
    rq_queue = queue_named(queue, connection, settings)
    if retry is not FROM_CONFIG:
        options["retry"] = NO_RETRY if retry is None else retry
    if dedup_key is not None:
        options["dedup_key"] = dedup_key
    return rq_queue.enqueue(func, *args, job_timeout=job_timeout, **options)
