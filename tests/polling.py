"""Wait for a state with a deadline instead of sleeping and hoping."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from failure_handlers.dev.polling import wait_until

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 30.0, what: str = "condition", every: float = 0.1) -> T:
    """Call `probe` until it returns something truthy; fail the test after `timeout` seconds."""
    try:
        return wait_until(probe, timeout, what, every)
    except TimeoutError as error:
        raise AssertionError(str(error)) from None
