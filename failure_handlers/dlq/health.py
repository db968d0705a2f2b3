"""`dlq.py check`: is the DLQ healthy? Pure thresholds, for cron, probes and alerting.

Exit status follows the monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Health(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2


@dataclass(frozen=True)
class Thresholds:
    warn_size: int
    crit_size: int
    max_age_seconds: float


def assess(size: int, oldest_age: float | None, dropped: int, limits: Thresholds) -> tuple[Health, str]:
    """The health and a one-line summary naming every figure and threshold."""
    if size >= limits.crit_size:
        health = Health.CRITICAL
    elif size >= limits.warn_size or (oldest_age is not None and oldest_age > limits.max_age_seconds):
        health = Health.WARNING
    else:
        health = Health.OK
    age = f"oldest {format_age(oldest_age)} old" if oldest_age is not None else "empty"
    line = (
        f"DLQ {health.name}: {size} dead jobs (warn {limits.warn_size}, crit {limits.crit_size}), "
        f"{age} (max {format_age(limits.max_age_seconds)}), {dropped} dropped by DLQ_MAX_ENTRIES"
    )
    return health, line


def format_age(seconds: float | None) -> str:
    """`45s`, `12m`, `3h05m`, `2d04h`."""
    if seconds is None:
        return "-"
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
