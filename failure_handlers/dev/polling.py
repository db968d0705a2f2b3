"""Wait for a state with a deadline instead of sleeping and hoping: for the experiments, the
benchmarks and (through tests/polling.py) the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(probe: Callable[[], T], timeout: float, what: str, every: float = 0.1) -> T:
    """Call `probe` until it returns something truthy; `TimeoutError` naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {result!r})")
        time.sleep(every)
