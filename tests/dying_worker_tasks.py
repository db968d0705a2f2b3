"""A job whose worker dies right after our failure handler dead-lettered it, before RQ's own
bookkeeping (real workers import this module: the project root is on their path)."""

from __future__ import annotations

import time
from types import TracebackType

from redis import Redis
from rq.exceptions import AbandonedJobError
from rq.job import Job

from failure_handlers.handler import on_failure


def unbalanced_ledger() -> None:
    raise RuntimeError("ledger out of balance by 0.01")


def dead_letter_then_hang(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """Our callback, then a hang until the test SIGKILLs the worker: RQ never moves the job out of its
    StartedJobRegistry. The abandoned-job cleanup calls this again, with AbandonedJobError: no hang."""
    on_failure(job, connection, exc_type, exc_value, traceback)
    if exc_type is not AbandonedJobError:
        time.sleep(3600)
