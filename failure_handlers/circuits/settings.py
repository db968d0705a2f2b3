"""The CIRCUIT_* settings: defaults of every circuit breaker (`worker_tasks.circuit(...)`). Pure code."""

from __future__ import annotations

from dataclasses import dataclass

from failure_handlers.settings_reader import Reader, Source

DEFAULT_FAILURE_THRESHOLD = 5  # failures within the window that open a circuit
DEFAULT_WINDOW_SECONDS = 60  # how far back failures count
DEFAULT_RESET_SECONDS = 30  # how long an open circuit fails fast before one probe call
MAX_FAILURE_THRESHOLD = 1_000_000
MAX_CIRCUIT_SECONDS = 7 * 24 * 3600

DEFAULTS = {
    "CIRCUIT_FAILURE_THRESHOLD": DEFAULT_FAILURE_THRESHOLD,
    "CIRCUIT_WINDOW_SECONDS": DEFAULT_WINDOW_SECONDS,
    "CIRCUIT_RESET_SECONDS": DEFAULT_RESET_SECONDS,
}


@dataclass(frozen=True)
class CircuitSettings:
    """Validated CIRCUIT_* values; `circuit("name", failures=..., window=..., reset=...)` overrides them."""

    failure_threshold: int = DEFAULT_FAILURE_THRESHOLD
    window_seconds: int = DEFAULT_WINDOW_SECONDS
    reset_seconds: int = DEFAULT_RESET_SECONDS


def parse_circuit_settings(source: Source) -> CircuitSettings:
    """CIRCUIT_* from `source`; raises `ConfigError` naming the variable."""
    read = Reader(source, DEFAULTS)
    return CircuitSettings(
        failure_threshold=read.whole_number("CIRCUIT_FAILURE_THRESHOLD", 1, MAX_FAILURE_THRESHOLD),
        window_seconds=read.whole_number("CIRCUIT_WINDOW_SECONDS", 1, MAX_CIRCUIT_SECONDS),
        reset_seconds=read.whole_number("CIRCUIT_RESET_SECONDS", 1, MAX_CIRCUIT_SECONDS),
    )
