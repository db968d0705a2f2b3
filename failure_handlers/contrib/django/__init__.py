"""The Django app (`INSTALLED_APPS += ["failure_handlers.contrib.django"]`) for projects that run RQ
through django-rq: manual in docs/django.md.

- `RetryingQueue`: django-rq's queue with our retry policy and failure callback, for
  `RQ = {"QUEUE_CLASS": "failure_handlers.contrib.django.RetryingQueue"}`;
- `Worker`: the worker class for `RQ["WORKER_CLASS"]`, which turns on our log lines in `rqworker`;
- `python manage.py rq_dlq [--queue NAME] VERB ...`: every `rq-dlq` verb on that queue's Redis.

The names are imported on first use, so that listing the app in `INSTALLED_APPS` imports nothing
of django-rq before Django has loaded its settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from failure_handlers.contrib.django.queue import RetryingQueue
    from failure_handlers.contrib.django.worker import Worker

__all__ = ["RetryingQueue", "Worker"]


def __getattr__(name: str) -> Any:
    try:
        if name == "RetryingQueue":
            from failure_handlers.contrib.django.queue import RetryingQueue

            return RetryingQueue
        if name == "Worker":
            from failure_handlers.contrib.django.worker import Worker

            return Worker
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            f"{__name__}.{name} needs the django extra ({error}): pip install 'rq-dead-letter[django]'",
            name=error.name,
        ) from error
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
