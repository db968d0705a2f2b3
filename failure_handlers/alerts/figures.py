"""The figures the alert rules look at, read from the DLQ's indexes (a few pipelined round trips)."""

from __future__ import annotations

import time

from failure_handlers.alerts.rules import Figures, GroupFigures
from failure_handlers.dlq.store import DeadLetterQueue

MAX_GROUPS = 1_000  # the largest groups the group rules look at per pass


def read_figures(dlq: DeadLetterQueue, window_minutes: int, now: float | None = None) -> Figures:
    """Size, oldest entry, and the largest groups with their entries in the last `window_minutes`."""
    now = time.time() if now is None else now
    stats = dlq.stats(top_groups=MAX_GROUPS)
    since = now - window_minutes * 60
    with dlq.connection.pipeline(transaction=False) as pipe:
        for group in stats.groups:
            pipe.zcount(dlq.keys.by("group", group.fingerprint), since, "+inf")
        recent = [int(count) for count in pipe.execute()] if stats.groups else []
    groups = [
        GroupFigures(
            fingerprint=group.fingerprint,
            exc_type=group.exc_type or "?",
            func_name=group.func_name or "?",
            sample_message=group.sample_message,
            count=group.count,
            recent=count,
            first_seen=group.first_seen,
            last_seen=group.last_seen,
        )
        for group, count in zip(stats.groups, recent, strict=True)
    ]
    return Figures(now=now, size=stats.total, oldest=stats.oldest, groups=groups)
