"""The jobs the benchmarks run: a no-op, an always-failing job, and one that fails until its last retry.

They live here (not in worker_tasks) so the product ships no benchmark code; `rq worker --path`
(the project root) makes them importable in the worker processes.
"""

from __future__ import annotations

from rq import get_current_job

TRACEBACK_FRAMES = 10  # a typical application traceback depth


class BenchmarkFailure(RuntimeError):
    """The error every failing benchmark job raises."""


def noop(n: int = 0) -> None:
    """Does nothing: the job's cost is RQ's (and our handler's) alone."""


def always_fails(n: int = 0) -> None:
    """Raises `BenchmarkFailure` from 10 frames deep, like a typical application error."""
    _descend(TRACEBACK_FRAMES - 1, n)


def fails_until_last_retry(n: int = 0) -> str:
    """Fails while the job has retries left, so with `Retry(max=3)` it fails 3 times, then succeeds.

    It reads RQ's own `retries_left`, not our job.meta, so plain RQ runs it the same way.
    """
    job = get_current_job()
    if job is not None and job.retries_left:
        _descend(TRACEBACK_FRAMES - 1, n)
    return "ok"


def raise_from_depth(frames: int, message: str) -> None:
    """Raise `BenchmarkFailure(message)` with `frames` frames of ours on the stack."""
    if frames <= 1:
        raise BenchmarkFailure(message)
    raise_from_depth(frames - 1, message)


def _descend(frames: int, n: int) -> None:
    raise_from_depth(frames, f"order {n} could not be processed: upstream returned status 503")


def fails_with_message(chars: int, char: str = "x") -> None:
    """Raises from 10 frames deep with a message of `chars` copies of `char` (a huge error text)."""
    raise_from_depth(TRACEBACK_FRAMES, char * chars)
