"""Enqueue plain sync functions with the configured retry policy and the failure handler attached.

Precedence for retry and timeout: what the caller passes > the task's `@task(...)` options >
`RETRY_MAX` / `RETRY_INTERVALS` / `JOB_TIMEOUT` from the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.utils import get_call_string, import_attribute

from failure_handlers import runtime
from failure_handlers.config import Settings
from failure_handlers.dlq.keys import META_MAX_RETRIES
from failure_handlers.handler import on_failure
from failure_handlers.redaction import redact_kwargs

TASK_OPTIONS_ATTRIBUTE = "__rq_task_options__"
FAILURE_CALLBACK_TIMEOUT = 30  # seconds; the handler does a few Redis writes at most


class _FromConfig:
    def __repr__(self) -> str:
        return "FROM_CONFIG"


FROM_CONFIG: Any = _FromConfig()


@dataclass(frozen=True)
class TaskOptions:
    retry_max: int | None = None
    retry_intervals: tuple[int, ...] | None = None
    job_timeout: int | None = None


def task(
    *,
    retry_max: int | None = None,
    retry_intervals: Sequence[int] | None = None,
    job_timeout: int | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Per-task defaults that override the configuration, e.g. `@task(retry_max=0)`."""
    options = TaskOptions(retry_max, tuple(retry_intervals) if retry_intervals is not None else None, job_timeout)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, TASK_OPTIONS_ATTRIBUTE, options)
        return func

    return decorate


def build_retry(retry_max: int, intervals: Sequence[int]) -> Retry | None:
    """RQ's `Retry(max=0)` raises; zero retries means no `Retry` at all."""
    return Retry(max=retry_max, interval=list(intervals)) if retry_max > 0 else None


def enqueue(
    func: Callable[..., Any] | str,
    *args: Any,
    queue: str = "default",
    connection: Redis | None = None,
    retry: Retry | None = FROM_CONFIG,
    job_timeout: int | None = None,
    settings: Settings | None = None,
    **options: Any,
) -> Job:
    """Enqueue `func(*args, **kwargs)` on `queue` with retries, timeout and `on_failure` attached.

    `func` is a function or its dotted path. Other keyword arguments follow `rq.Queue.enqueue`:
    RQ's own options (`job_id`, `at_front`, `meta`, `result_ttl`, `kwargs=` ...) are used by RQ,
    the rest are passed to the task.
    """
    settings = settings or runtime.settings()
    task_options = _task_options(func)
    if retry is FROM_CONFIG:
        retry = build_retry(
            task_options.retry_max if task_options.retry_max is not None else settings.retry_max,
            task_options.retry_intervals or settings.retry_intervals,
        )
    timeout = job_timeout or task_options.job_timeout or settings.job_timeout
    meta = dict(options.pop("meta", None) or {})
    meta[META_MAX_RETRIES] = retry.max if retry is not None else 0
    rq_queue = Queue(queue, connection=connection or runtime.default_connection(), serializer=runtime.serializer())
    options.setdefault("description", _description(func, args, options, settings))
    return rq_queue.enqueue(
        func,
        *args,
        retry=retry,
        job_timeout=timeout,
        on_failure=Callback(on_failure, timeout=FAILURE_CALLBACK_TIMEOUT),
        meta=meta,
        **options,
    )


def _description(
    func: Callable[..., Any] | str, args: tuple[Any, ...], options: dict[str, Any], settings: Settings
) -> str:
    """RQ's description (`module.func(args)`, which RQ's worker logs), with secret-looking keyword
    values as `***`; a safe one when an argument's `repr` raises (RQ would raise from `enqueue`)."""
    name = func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
    *_, task_args, task_kwargs, _webhooks = Queue.parse_args(func, *args, **options)
    try:
        return get_call_string(name, task_args, redact_kwargs(task_kwargs, settings.redact_keys))
    except Exception:  # noqa: BLE001 - any __repr__ may fail
        return f"{name}(<arguments whose repr failed>)"


def _task_options(func: Callable[..., Any] | str) -> TaskOptions:
    if isinstance(func, str):
        try:
            func = import_attribute(func)
        except (ImportError, AttributeError, ValueError):
            return TaskOptions()
    return getattr(func, TASK_OPTIONS_ATTRIBUTE, TaskOptions())
