"""The CIRCUIT_* settings: defaults of every circuit breaker (`worker_tasks.circuit(...)`).

Kept apart from `config.py`, which calls `circuit_settings` once; each value is validated here and a
bad one raises `ConfigError` naming the variable (one line).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from failure_handlers.setting_values import whole_number

DEFAULT_CIRCUIT_FAILURE_THRESHOLD = 5  # failures within the window that open a circuit
DEFAULT_CIRCUIT_WINDOW_SECONDS = 60  # how far back failures count
DEFAULT_CIRCUIT_RESET_SECONDS = 30  # how long an open circuit fails fast before one probe call
MAX_CIRCUIT_SECONDS = 7 * 24 * 3600


def circuit_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """The `Settings` fields of the circuit breakers, from `get(name)` (None when unset)."""

    def number(name: str, default: int, maximum: int) -> int:
        return whole_number(name, get(name), default, 1, maximum)

    return {
        "circuit_failure_threshold": number("CIRCUIT_FAILURE_THRESHOLD", DEFAULT_CIRCUIT_FAILURE_THRESHOLD, 1_000_000),
        "circuit_window_seconds": number("CIRCUIT_WINDOW_SECONDS", DEFAULT_CIRCUIT_WINDOW_SECONDS, MAX_CIRCUIT_SECONDS),
        "circuit_reset_seconds": number("CIRCUIT_RESET_SECONDS", DEFAULT_CIRCUIT_RESET_SECONDS, MAX_CIRCUIT_SECONDS),
    }
