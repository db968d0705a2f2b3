"""`PlannedRetry`: an `rq.Retry` whose delays were planned by our retry policy (a fixed list or an
exponential backoff with a cap) and which carries the jitter the failure handler applies.

RQ stores only the interval list; `RetryingQueue` also writes the plan into `job.meta`
(`META_RETRY_DELAYS`, `META_RETRY_JITTER`, `META_RETRY_BACKOFF`) so that the handler always starts
from the original schedule and an operator sees it (`rq-dlq show`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rq import Retry

from failure_handlers.retry.backoff import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    Jitter,
    aligned_delays,
    check_backoff,
    exponential_delays,
    parse_jitter,
)


class PlannedRetry(Retry):
    """`PlannedRetry(max=6, backoff="exponential", base=30, cap=600, jitter="equal")` or
    `PlannedRetry(max=3, intervals=[30, 60, 120], jitter="full")`: pass it as `retry=` at a call
    site (it wins over `@task(...)` and the configuration). `jitter=None` takes the task's or the
    configured jitter. Bad values raise ValueError here, before anything is enqueued."""

    def __init__(
        self,
        max: int,  # noqa: A002 - rq.Retry's own name
        *,
        intervals: Sequence[int] | None = None,
        backoff: str | None = None,
        base: int | None = None,
        cap: int | None = None,
        jitter: str | Jitter | None = None,
        enqueue_at_front: bool = False,
    ) -> None:
        if isinstance(max, bool) or not isinstance(max, int) or max < 1:
            raise ValueError(f"max={max!r}: expected a whole number >= 1 (no retries: pass no retry)")
        kind = backoff or ("exponential" if base is not None or cap is not None or intervals is None else "fixed")
        if kind == "exponential":
            if intervals is not None:
                raise ValueError("give either intervals or an exponential backoff, not both")
            base = DEFAULT_BACKOFF_BASE if base is None else base
            cap = max_cap(base) if cap is None else cap
            try:
                check_backoff(kind, base, cap)
            except ValueError as error:
                raise ValueError(f"backoff={kind!r}, base={base!r}, cap={cap!r}: {error}") from None
            delays = exponential_delays(max, base, cap)
            self.backoff_note = f"exponential, base {base}s, cap {cap}s"
        else:
            if kind != "fixed" or base is not None or cap is not None:
                raise ValueError(f"backoff={kind!r}: expected fixed (with intervals) or exponential (with base, cap)")
            delays = aligned_delays(check_intervals(intervals), max)
            self.backoff_note = "fixed"
        super().__init__(max=max, interval=delays, enqueue_at_front=enqueue_at_front)
        self.jitter = None if jitter is None else parse_jitter(jitter)

    @classmethod
    def from_plan(cls, max_retries: int, delays: Sequence[int], note: str, jitter: Jitter) -> PlannedRetry:
        """A retry with delays already planned (by `task_options.configured_retry`), kept as given."""
        retry = cls.__new__(cls)
        Retry.__init__(retry, max=max_retries, interval=list(delays))
        retry.backoff_note, retry.jitter = note, jitter
        return retry


def max_cap(base: int) -> int:
    """The default cap, or the base itself when the base is above it (a cap below the base is an error)."""
    return DEFAULT_BACKOFF_CAP if base <= DEFAULT_BACKOFF_CAP else base


def check_intervals(intervals: Sequence[int] | None) -> list[int]:
    """A list of whole seconds >= 0, at least one; ValueError otherwise."""
    if intervals is None or isinstance(intervals, str):
        raise ValueError(f"intervals={intervals!r}: expected a list of whole seconds >= 0, e.g. [30, 60, 120]")
    try:
        values = list(intervals)
    except TypeError:
        values = []
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
        raise ValueError(f"intervals={intervals!r}: expected a list of whole seconds >= 0, e.g. [30, 60, 120]")
    return values
