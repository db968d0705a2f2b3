"""Retry delays, pure: the planned schedule (a fixed list or exponential with a cap) and jitter.

The schedule is computed once, at enqueue time, and stored with the job (RQ's `Retry` interval list
and `job.meta`); jitter is applied by the failure handler to each coming retry, always starting
from the planned delay of the ORIGINAL schedule (never from a list it already changed).
No Redis here: everything is tested with plain pytest and a seeded `random.Random`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

BACKOFF_KINDS = ("fixed", "exponential")
DEFAULT_BACKOFF = "fixed"
DEFAULT_BACKOFF_BASE = 30
DEFAULT_BACKOFF_CAP = 600
JITTER_KINDS = ("none", "full", "equal")

# Jitter must not come from a `random.Random()` made at import: a forking worker's work-horses would
# all inherit its state and draw the same "random" delays (only the `random` module's own instance is
# reseeded after fork). SystemRandom reads os.urandom and has no state to inherit.
SYSTEM_RANDOM = random.SystemRandom()


def exponential_delays(count: int, base: int, cap: int) -> list[int]:
    """The delay before each of `count` retries: retry n waits min(base * 2^(n-1), cap) seconds."""
    delays, delay = [], base
    for _ in range(count):
        delays.append(min(delay, cap))
        delay = min(delay * 2, cap)  # stays small however many retries there are
    return delays


def aligned_delays(intervals: Sequence[int] | None, count: int) -> list[int]:
    """What RQ 3.0 waits before each of `count` retries with this interval list (`Job.get_retry_interval`):
    a list shorter than the budget is aligned to its end, so its first value repeats."""
    if not intervals or count < 1:
        return [0] * max(count, 0)
    values = list(intervals)
    return [values[max(len(values) - left, 0)] for left in range(count, 0, -1)]


@dataclass(frozen=True)
class Jitter:
    """How a planned delay is spread: `none`, `full` (0..d), `equal` (d/2..d) or `fraction` (d·(1±f))."""

    kind: str = "none"
    fraction: float = 0.0

    @property
    def text(self) -> str:
        """The setting's text (`none`, `full`, `equal`, `0.2`), as stored in job.meta."""
        return f"{self.fraction:g}" if self.kind == "fraction" else self.kind

    def describe(self) -> str:
        return f"±{self.fraction:.0%} jitter" if self.kind == "fraction" else f"{self.kind} jitter"


NO_JITTER = Jitter()


def parse_jitter(text: str | Jitter) -> Jitter:
    """`none`, `full`, `equal`, or a fraction 0 < f <= 1 (`0.2` = ±20%); ValueError otherwise."""
    if isinstance(text, Jitter):
        return text
    if not isinstance(text, str):
        raise ValueError(f"expected none, full, equal or a fraction like 0.2, got {type(text).__name__}")
    value = text.strip().lower()
    if value in JITTER_KINDS:
        return Jitter(value)
    try:
        fraction = float(value.removeprefix("±").removeprefix("+-"))
    except ValueError:
        fraction = -1.0
    if not 0 < fraction <= 1:  # also rejects nan
        raise ValueError("expected none, full, equal or a fraction 0 < f <= 1 like 0.2 (±20%)")
    return Jitter("fraction", fraction)


def jittered(delay: int, jitter: Jitter, rng: random.Random = SYSTEM_RANDOM) -> int:
    """`delay` spread by `jitter`, in whole seconds (RQ's ScheduledJobRegistry scores whole seconds).

    full: uniform 0..d (AWS's "full jitter": the widest spread, a retry may come at once);
    equal: d/2..d (never sooner than half the plan); fraction f: d·(1-f)..d·(1+f) (may pass the cap
    by f, on purpose: the cap bounds the plan, the spread is around it).
    """
    if delay <= 0 or jitter.kind == "none":
        return max(delay, 0)
    if jitter.kind == "full":
        low, high = 0.0, float(delay)
    elif jitter.kind == "equal":
        low, high = delay / 2, float(delay)
    else:
        low, high = delay * (1 - jitter.fraction), delay * (1 + jitter.fraction)
    return max(int(rng.uniform(low, high) + 0.5), 0)


def describe_schedule(delays: Sequence[int]) -> str:
    """`30, 60, 120s`, or `none` for an empty schedule."""
    return ", ".join(str(delay) for delay in delays) + "s" if delays else "none"
