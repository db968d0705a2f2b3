"""`RetryingQueue`: an `rq.Queue` that gives every new job the configured retry policy, timeout and
our failure callback, so an application keeps its call sites (`queue.enqueue(func, ...)`).

What the call site passes always wins; only what it leaves out is filled in (see
`retry/task_options.py` for the precedence). Usable in code (`from failure_handlers.integration import
RetryingQueue as Queue`), as RQ's queue class (`rq worker --queue-class ...`, `rq enqueue`), and
with RQ's `@job` decorator (`@job(RetryingQueue("billing", connection=redis))`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from loguru import logger
from redis import Redis
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.utils import get_call_string

from failure_handlers import runtime
from failure_handlers.config import Settings
from failure_handlers.handler import on_failure
from failure_handlers.idempotency.dedup import dedup_job_id, enqueue_once
from failure_handlers.redaction import redact_kwargs
from failure_handlers.retry.plan import PlannedRetry, configured_jitter, configured_retry, planned_delays
from failure_handlers.retry.task_options import configured_timeout, task_options_of
from failure_handlers.storage.keys import META_MAX_RETRIES, META_RETRY_BACKOFF, META_RETRY_DELAYS, META_RETRY_JITTER

FAILURE_CALLBACK_TIMEOUT = 30  # seconds; the handler does a few Redis writes at most


class _NoRetry:
    def __repr__(self) -> str:
        return "NO_RETRY"


NO_RETRY: Any = _NoRetry()
"""Pass as `retry=NO_RETRY` for a job that must not be retried (`retry=None` means "configured")."""


class RetryingQueue(Queue):
    """`rq.Queue` with the configured `Retry`, `job_timeout`, `on_failure` callback and a redacted
    description for every job whose call site does not give its own."""

    def __init__(self, *args: Any, settings: Settings | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        # A `default_timeout=` given to the queue (django-rq's DEFAULT_TIMEOUT) is its jobs' timeout
        # instead of JOB_TIMEOUT; the call site's and the task's still win.
        self.queue_job_timeout: int | None = kwargs.get("default_timeout")

    def enqueue(self, f: Any, *args: Any, dedup_key: str | None = None, **kwargs: Any) -> Job:
        """RQ's `enqueue`; with `dedup_key`, at most one job per (function, key) at a time: the job
        id is derived from them (`idempotency/dedup.py`) and enqueued with `unique=True`; while a job
        with that id exists, its job is returned instead (logged as deduplicated), never an error.
        An empty or too long key raises `ValueError` and writes nothing."""
        if dedup_key is None:
            return super().enqueue(f, *args, **kwargs)
        job_id = dedup_job_id(f, dedup_key)
        if kwargs.get("job_id") not in (None, job_id):
            raise ValueError("give dedup_key or job_id, not both: dedup_key derives the job id")
        kwargs.update(job_id=job_id, unique=True)
        return enqueue_once(
            lambda: super(RetryingQueue, self).enqueue(f, *args, **kwargs),
            lambda: Job.fetch(job_id, connection=self.connection, serializer=self.serializer),
            job_id,
            dedup_key,
        )

    def create_job(self, func: Any, args: Any = None, kwargs: Any = None, *rest: Any, **options: Any) -> Any:
        """RQ's `create_job` (every enqueue path goes through it) with our defaults filled in."""
        if rest:  # positional use of RQ's parameters: name them, as RQ's own signature does
            names: tuple[str, ...] = (
                "timeout",
                "result_ttl",
                "ttl",
                "failure_ttl",
                "description",
                "depends_on",
                "job_id",
                "meta",
            )
            names += ("status", "retry", "repeat")
            options.update(zip(names, rest, strict=False))
        settings = self.settings or runtime.settings()
        task_options = task_options_of(func)
        retry = options.get("retry")
        if retry is NO_RETRY:
            retry = None
        elif retry is None:
            retry = configured_retry(task_options.plan, settings.retry.plan)
        options["retry"] = retry
        if options.get("timeout") is None:
            options["timeout"] = configured_timeout(task_options, self.queue_job_timeout or settings.retry.job_timeout)
        if options.get("on_failure") is None:
            options["on_failure"] = Callback(on_failure, timeout=FAILURE_CALLBACK_TIMEOUT)
        meta = dict(options.get("meta") or {})
        meta.setdefault(META_MAX_RETRIES, retry.max if isinstance(retry, Retry) else 0)
        if isinstance(retry, Retry):
            _plan_into_meta(meta, retry, configured_jitter(task_options.plan, settings.retry.plan), func)
        options["meta"] = meta
        if options.get("description") is None:
            options["description"] = redacted_description(func, args, kwargs, settings.redact_keys)
        return super().create_job(func, args, kwargs, **options)


QueueFactory = Callable[[str, Redis | None, Settings | None], RetryingQueue]


def own_queue(name: str, connection: Redis | None = None, settings: Settings | None = None) -> RetryingQueue:
    """A `RetryingQueue` on `connection`, or on this process's `REDIS_URL`, with `RQ_SERIALIZER`."""
    return RetryingQueue(
        name,
        connection=connection or runtime.default_connection(),
        serializer=runtime.serializer(),
        settings=settings,
    )


_queue_factory: QueueFactory = own_queue


def use_queue_factory(factory: QueueFactory | None) -> None:
    """Make `queue_named` (and so `worker_tasks.enqueue`) build its queues with `factory`: a framework
    integration installs its own (the Django app: django-rq's queues, connection and commit mode);
    `None` restores `own_queue`."""
    global _queue_factory
    _queue_factory = factory or own_queue


def queue_named(name: str, connection: Redis | None = None, settings: Settings | None = None) -> RetryingQueue:
    """The `RetryingQueue` named `name` in this process: `own_queue`, or the installed factory's."""
    return _queue_factory(name, connection, settings)


def _plan_into_meta(meta: dict[str, Any], retry: Retry, jitter: Any, func: Any) -> None:
    """The retry plan, computed now (README "Retry policy"): the delays the job will get before
    jitter, the jitter the handler will apply, and how the delays were made."""
    if isinstance(retry, PlannedRetry) and retry.jitter is not None:
        jitter = retry.jitter
    meta.setdefault(META_RETRY_DELAYS, planned_delays(retry))
    meta.setdefault(META_RETRY_JITTER, jitter.text)
    meta.setdefault(META_RETRY_BACKOFF, getattr(retry, "backoff_note", "fixed"))
    logger.debug(
        "Retry plan of {}: {} retries after {} ({}; {} jitter)",
        func if isinstance(func, str) else getattr(func, "__qualname__", "?"),
        retry.max,
        ", ".join(map(str, meta[META_RETRY_DELAYS])) + "s",
        meta[META_RETRY_BACKOFF],
        meta[META_RETRY_JITTER],
    )


def redacted_description(func: Any, args: Any, kwargs: Any, redact_keys: Sequence[str]) -> str:
    """RQ's description (`module.func(args)`, which RQ's worker logs), with secret-looking keyword
    values as `***`; a safe one when an argument's `repr` raises (RQ would raise from `enqueue`)."""
    name = func if isinstance(func, str) else f"{getattr(func, '__module__', '')}.{getattr(func, '__qualname__', func)}"
    try:
        return get_call_string(name, args or (), redact_kwargs(kwargs or {}, redact_keys)) or name
    except Exception:  # noqa: BLE001 - any __repr__ may fail
        return f"{name}(<arguments whose repr failed>)"
