"""`RetryingQueue` for django-rq: our retry policy and failure callback on django-rq's queue.

    RQ = {"QUEUE_CLASS": "failure_handlers.contrib.django.RetryingQueue"}

It is both `failure_handlers.integration.RetryingQueue` (the configured retries, timeout and
`on_failure` for every job whose call site gives none) and django-rq's `DjangoRQ` (its connection,
`DEFAULT_TIMEOUT`, `DEFAULT_RESULT_TTL` and commit mode: with the default `on_db_commit`, a job
enqueued inside `transaction.atomic()` is enqueued when the transaction commits, and never if it
rolls back). django-rq 4.2 makes every queue with `QUEUE_CLASS` (`django_rq.get_queue`,
`@django_rq.job`, `rqworker`); a plain `RetryingQueue` there loses the commit mode.
"""

from __future__ import annotations

from typing import Any

from django.db import connection as db_connection
from django_rq.queues import DjangoRQ, get_queue, get_queue_class
from loguru import logger
from rq.exceptions import DuplicateJobError

from failure_handlers.config import Settings
from failure_handlers.contrib.django.queues import queue_config
from failure_handlers.integration import queue as integration_queue

_DEFERRED_DEDUP = "_rq_dead_letter_deferred_dedup"  # a marker popped before RQ sees the arguments


class RetryingQueue(integration_queue.RetryingQueue, DjangoRQ):
    """django-rq's queue (`DjangoRQ`) with our defaults for every new job (`RetryingQueue`)."""

    def enqueue_call(self, *args: Any, **kwargs: Any) -> Any:
        """django-rq's: now, at the commit, or at the end of the request (its commit mode)."""
        if kwargs.get("unique") and not self._enqueues_now():
            kwargs[_DEFERRED_DEDUP] = True
        return super().enqueue_call(*args, **kwargs)

    def original_enqueue_call(self, *args: Any, **kwargs: Any) -> Any:
        """The enqueue itself. A `dedup_key` enqueue that django-rq deferred finds its key taken only at
        the commit: that is the deduplication working (logged), not an error raised into the commit."""
        if not kwargs.pop(_DEFERRED_DEDUP, False):
            return super().original_enqueue_call(*args, **kwargs)
        try:
            return super().original_enqueue_call(*args, **kwargs)
        except DuplicateJobError:
            logger.info("Enqueue deduplicated at commit: job {} exists; not enqueued again", kwargs.get("job_id"))
            return None

    def _enqueues_now(self) -> bool:
        """What `DjangoRQ.enqueue_call` decides: enqueue at once, or defer."""
        mode = getattr(self, "_commit_mode", "auto")
        return mode == "auto" or (mode == "on_db_commit" and not db_connection.in_atomic_block)


def django_queue(name: str, connection: Any = None, settings: Settings | None = None) -> RetryingQueue:
    """django-rq's queue `name` (`RQ_QUEUES`) as a `RetryingQueue`: the factory the app installs for
    `worker_tasks.enqueue`. The configured `QUEUE_CLASS` when it is one (a subclass of ours), else ours.
    An unknown name raises `UnknownQueue` (a `ValueError`) instead of using another server."""
    config = queue_config(name)
    queue_class = get_queue_class(config)
    if not issubclass(queue_class, RetryingQueue):
        queue_class = RetryingQueue
    queue = get_queue(name, connection=connection, queue_class=queue_class, settings=settings)
    assert isinstance(queue, RetryingQueue)
    return queue
