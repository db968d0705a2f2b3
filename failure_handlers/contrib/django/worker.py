"""The worker class for `manage.py rqworker`: RQ's `Worker` that turns on our log lines.

django-rq 4.2's `rqworker` has no `-c` settings module (it takes its connection from `RQ_QUEUES`),
so `failure_handlers.rq_settings` cannot set up logging there; this class does, when it starts
working (not when django-rq's views merely list workers):

    RQ = {"WORKER_CLASS": "failure_handlers.contrib.django.Worker", ...}   # or rqworker --worker-class
    RQ_EXCEPTION_HANDLERS = ["failure_handlers.integration.record_failure"]
"""

from __future__ import annotations

from typing import Any

from loguru import logger
from rq import Worker as RQWorker

from failure_handlers import runtime
from failure_handlers.integration import record_failure
from failure_handlers.logging_setup import configure_logging
from failure_handlers.queues.worker import PauseAware

EXCEPTION_HANDLER = f"{record_failure.__module__}.{record_failure.__qualname__}"


class Worker(PauseAware, RQWorker):
    """`rq.Worker` whose `work()` first sets up our logging (`LOG_LEVEL`, `LOG_JSON`), as the
    Procfile's `-c failure_handlers.rq_settings` does; a bad setting stops it (one line, exit 2).
    Like `failure_handlers.queues.PausableWorker`, it takes no job from a paused queue."""

    def work(self, *args: Any, **kwargs: Any) -> bool:
        start_logging()
        if record_failure not in self._exc_handlers:
            logger.warning(
                "RQ_EXCEPTION_HANDLERS does not name {}: jobs enqueued without our queue class "
                "fail without a DLQ entry until the reconciler finds them",
                EXCEPTION_HANDLER,
            )
        return super().work(*args, **kwargs)


def start_logging() -> None:
    """Our log lines in this process, with the sink of `LOG_LEVEL` and `LOG_JSON` (for a worker class
    of your own: call it before `work()`)."""
    configure_logging(runtime.settings_or_exit())
