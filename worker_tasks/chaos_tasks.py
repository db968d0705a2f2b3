"""A task whose fate the caller picks: used by the chaos experiment (`chaos/`, `scripts/chaos.py`)."""

from __future__ import annotations

import os
import signal
import time

from rq import get_current_job

from failure_handlers import PermanentError
from failure_handlers.storage.keys import META_MAX_RETRIES

FATES = ("ok", "transient", "permanent", "timeout", "sigkill")


class ChaosPermanentError(PermanentError):
    """A failure no retry fixes."""


def chaos_job(fate: str, seconds: float = 0.0) -> str:
    """Sleep `seconds`, then: `ok` succeeds; `transient` fails its first run only; `permanent`
    raises a permanent error; `timeout` outlives any job timeout; `sigkill` kills its own work-horse.
    """
    time.sleep(seconds)
    if fate == "transient" and _run_number() == 1:
        raise ConnectionError("upstream unavailable (chaos: fails on the first run only)")
    if fate == "permanent":
        raise ChaosPermanentError("chaos: rejected for good")
    if fate == "timeout":
        time.sleep(3600)
    if fate == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    return fate


def _run_number() -> int:
    job = get_current_job()
    if job is None:
        return 1
    budget = int(job.meta.get(META_MAX_RETRIES) or 0)
    return budget - (job.retries_left or 0) + 1
