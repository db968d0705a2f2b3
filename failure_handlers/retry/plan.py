"""The retry plan: how many retries a job gets, the delay before each (a fixed list, or an
exponential backoff with a cap), and the jitter the failure handler spreads them with.

One `RetryPlan` type for the three places that give one, each checked once, where it is given:
the configuration (`RetrySettings.plan`, checked by `retry/settings.py`), a task's `@task(...)`
options and a call site's `PlannedRetry(...)` (both checked by `RetryPlan.given`). At enqueue,
`configured_retry` completes the task's plan from the configuration (call site > `@task` >
configuration) and gives RQ the result as a `PlannedRetry`.

RQ stores only the interval list; `RetryingQueue` also writes the plan into `job.meta`
(`META_RETRY_DELAYS`, `META_RETRY_JITTER`, `META_RETRY_BACKOFF`) so that the handler always starts
from the original schedule and an operator sees it (`rq-dlq show`). Pure code: no Redis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rq import Retry

from failure_handlers.retry.backoff import (
    BACKOFF_KINDS,
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    Jitter,
    aligned_delays,
    exponential_delays,
    parse_jitter,
)

# How each part of a plan is called where it is given (for the error messages).
CALL_SITE_NAMES = {name: name for name in ("max", "intervals", "backoff", "base", "cap", "jitter")}
TASK_NAMES = {
    "max": "retry_max",
    "intervals": "retry_intervals",
    "backoff": "retry_backoff",
    "base": "retry_backoff_base",
    "cap": "retry_backoff_cap",
    "jitter": "retry_jitter",
}


@dataclass(frozen=True)
class RetryPlan:
    """A retry plan, or the part of one given at one level: None = "not given here"."""

    max: int | None = None  # retries after the first run
    backoff: str | None = None  # fixed (intervals) or exponential (base, cap)
    intervals: tuple[int, ...] | None = None
    base: int | None = None
    cap: int | None = None
    jitter: Jitter | None = None

    @classmethod
    def given(
        cls,
        *,
        max: int | None = None,  # noqa: A002 - rq.Retry's own name
        intervals: Sequence[int] | None = None,
        backoff: str | None = None,
        base: int | None = None,
        cap: int | None = None,
        jitter: str | Jitter | None = None,
        names: Mapping[str, str] = CALL_SITE_NAMES,
    ) -> RetryPlan:
        """The plan given in code, checked: ValueError naming the parameter (as `names` calls it).

        `base`/`cap` imply `backoff="exponential"`; `intervals` implies `"fixed"`.
        """
        if max is not None and (isinstance(max, bool) or not isinstance(max, int) or max < 0):
            raise ValueError(f"{names['max']}={max!r}: expected a whole number >= 0")
        if backoff is not None and backoff not in BACKOFF_KINDS:
            raise ValueError(f"{names['backoff']}={backoff!r}: expected {' or '.join(BACKOFF_KINDS)}")
        exponential = base is not None or cap is not None
        if intervals is not None and (exponential or backoff == "exponential"):
            raise ValueError(
                f"give {names['intervals']} or an exponential backoff ({names['base']}/{names['cap']}), not both"
            )
        if backoff == "fixed" and exponential:
            raise ValueError(f"{names['backoff']}='fixed' takes no {names['base']}/{names['cap']}")
        for part, seconds in (("base", base), ("cap", cap)):
            if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 1):
                raise ValueError(f"{names[part]}={seconds!r}: expected a whole number >= 1")
        if base is not None and cap is not None and cap < base:
            raise ValueError(f"{names['cap']}={cap}: must be >= {names['base']} ({base})")
        return cls(
            max=max,
            backoff=backoff or ("exponential" if exponential else "fixed" if intervals is not None else None),
            intervals=None if intervals is None else tuple(check_intervals(intervals, names["intervals"])),
            base=base,
            cap=cap,
            jitter=_jitter(jitter, names["jitter"]),
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
        if backoff is None and intervals is None and base is None and cap is None:
            backoff = "exponential"  # nothing said: the library's exponential defaults
        plan = RetryPlan.given(max=max, intervals=intervals, backoff=backoff, base=base, cap=cap, jitter=jitter)
        if plan.backoff == "exponential":
            base = DEFAULT_BACKOFF_BASE if plan.base is None else plan.base
            cap = max_cap(base) if plan.cap is None else plan.cap
            delays = exponential_delays(max, base, cap)
            self.backoff_note = exponential_note(base, cap)
        else:
            delays = aligned_delays(check_intervals(plan.intervals), max)
            self.backoff_note = "fixed"
        super().__init__(max=max, interval=delays, enqueue_at_front=enqueue_at_front)
        self.jitter = plan.jitter

    @classmethod
    def from_plan(cls, max_retries: int, delays: Sequence[int], note: str, jitter: Jitter) -> PlannedRetry:
        """A retry with delays already planned (by `configured_retry`), kept as given."""
        retry = cls.__new__(cls)
        Retry.__init__(retry, max=max_retries, interval=list(delays))
        retry.backoff_note, retry.jitter = note, jitter
        return retry


def configured_retry(task: RetryPlan, configured: RetryPlan) -> PlannedRetry | None:
    """The retry a task gets when the call site names none: the task's plan completed from the
    configured one (a complete plan), delays planned now, jitter attached.

    A fixed list is given to RQ as configured (RQ aligns a short list to the end); an exponential
    backoff is given as its full list. ValueError when the task's base/cap clash with the configured ones.
    """
    retry_max = task.max if task.max is not None else configured.max
    if not retry_max or retry_max <= 0:
        return None
    jitter = configured_jitter(task, configured)
    if (task.backoff or configured.backoff) == "exponential":
        base, cap = task.base or configured.base, task.cap or configured.cap
        if base is None or cap is None:
            raise ValueError("an exponential backoff needs a base and a cap")
        if cap < base:
            raise ValueError(f"retry backoff cap {cap}s is below its base {base}s (@task options and RETRY_BACKOFF_*)")
        return PlannedRetry.from_plan(
            retry_max, exponential_delays(retry_max, base, cap), exponential_note(base, cap), jitter
        )
    return PlannedRetry.from_plan(retry_max, task.intervals or configured.intervals or (), "fixed", jitter)


def configured_jitter(task: RetryPlan, configured: RetryPlan) -> Jitter:
    """The jitter of a job whose call site gives none: the task's, else the configured one."""
    return task.jitter or configured.jitter or Jitter()


def exponential_note(base: int, cap: int) -> str:
    """How an exponential schedule was made, as job.meta and `rq-dlq show` keep it."""
    return f"exponential, base {base}s, cap {cap}s"


def build_retry(retry_max: int, intervals: Sequence[int]) -> Retry | None:
    """RQ's `Retry(max=0)` raises; zero retries means no `Retry` at all."""
    return Retry(max=retry_max, interval=list(intervals)) if retry_max > 0 else None


def planned_delays(retry: Retry) -> list[int]:
    """The delay before each retry of `retry`, as RQ 3.0 will wait them (for job.meta)."""
    return aligned_delays(retry.intervals, retry.max)


def max_cap(base: int) -> int:
    """The default cap, or the base itself when the base is above it (a cap below the base is an error)."""
    return DEFAULT_BACKOFF_CAP if base <= DEFAULT_BACKOFF_CAP else base


def check_intervals(intervals: Any, name: str = "intervals") -> list[int]:
    """A list of whole seconds >= 0, at least one; ValueError otherwise."""
    try:
        values = [] if intervals is None or isinstance(intervals, str) else list(intervals)
    except TypeError:
        values = []
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values):
        raise ValueError(f"{name}={intervals!r}: expected a list of whole seconds >= 0, e.g. [30, 60, 120]")
    return values


def _jitter(value: str | Jitter | None, name: str) -> Jitter | None:
    if value is None:
        return None
    try:
        return parse_jitter(value)
    except ValueError as error:
        raise ValueError(f"{name}={value!r}: {error}") from None
