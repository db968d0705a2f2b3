"""Tasks of an "existing RQ app": enqueued with plain RQ, no callback of ours (real workers import
this module: the project root is on their path)."""

from __future__ import annotations

from failure_handlers import PermanentError


def charge(customer: int) -> None:
    raise ConnectionError(f"payment gateway unreachable for customer {customer}")


def reject(invoice: str) -> None:
    raise PermanentError(f"invoice {invoice} has no customer number")


def succeed(value: int) -> int:
    return value


def sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)


def rq_sources_in_linecache() -> list[str]:
    """Which of RQ's traceback files this work-horse finds in `linecache` before anything failed in it
    (a forking worker's parent reads them before each fork: `recording/fork_warm_up.py`)."""
    import linecache

    from failure_handlers.recording.fork_warm_up import rq_traceback_files

    return [filename for filename in rq_traceback_files() if filename in linecache.cache]
