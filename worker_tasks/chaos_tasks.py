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


FAILOVER_FATES = ("ok", "permanent", "flaky", "single")


class ChaosFlakyError(RuntimeError):
    """A failure on every run: the job spends its retries, then it is dead with this cause."""


def failover_job(fate: str, seconds: float, runs_file: str) -> str:
    """The failover chaos experiment's job (`chaos/failover.py`). Each run appends `start` and, when its
    body is done, `end` lines (`<event> <job id> <pid> <unix time>`) to `runs_file` with O_APPEND: the
    ground truth of how often the job ran, outside Redis (which loses writes in a failover). Then:
    `ok` succeeds, `permanent` raises ChaosPermanentError, `flaky` and `single` (a job enqueued without
    retries) raise ChaosFlakyError every run."""
    job = get_current_job()
    job_id = job.id if job is not None else "?"
    _append_run(runs_file, "start", job_id)
    time.sleep(seconds)
    _append_run(runs_file, "end", job_id)
    if fate == "permanent":
        raise ChaosPermanentError("chaos: rejected for good")
    if fate in ("flaky", "single"):
        raise ChaosFlakyError("chaos: fails on every run")
    return fate


def _append_run(runs_file: str, event: str, job_id: str) -> None:
    descriptor = os.open(runs_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(descriptor, f"{event} {job_id} {os.getpid()} {time.time():.3f}\n".encode())
    finally:
        os.close(descriptor)
