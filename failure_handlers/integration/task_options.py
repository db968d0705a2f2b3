"""Per-task retry and timeout defaults (`@task(...)`), and how they combine with the configuration.

Precedence: what the call site passes (`retry=Retry(...)` or `PlannedRetry(...)`, `job_timeout=`)
> the task's `@task(...)` options > the configuration (`RETRY_MAX`, `RETRY_INTERVALS`,
`RETRY_BACKOFF`, `RETRY_BACKOFF_BASE`/`_CAP`, `RETRY_JITTER`, `JOB_TIMEOUT`). Pure code: no Redis.
Bad options raise ValueError at decoration, or at enqueue when they only clash with the
configuration; either way before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rq import Retry
from rq.utils import import_attribute

from failure_handlers.config import Settings
from failure_handlers.integration.planned_retry import PlannedRetry, check_intervals
from failure_handlers.retry.backoff import (
    BACKOFF_KINDS,
    Jitter,
    aligned_delays,
    exponential_delays,
    parse_jitter,
)
from failure_handlers.retry.rules import NO_TASK_RULES, RULES_ATTRIBUTE, TaskRules, task_rules

TASK_OPTIONS_ATTRIBUTE = "__rq_task_options__"


@dataclass(frozen=True)
class TaskOptions:
    retry_max: int | None = None
    retry_intervals: tuple[int, ...] | None = None
    job_timeout: int | None = None
    # --- Retry policy: None = from the configuration ---
    retry_backoff: str | None = None
    retry_backoff_base: int | None = None
    retry_backoff_cap: int | None = None
    retry_jitter: Jitter | None = None
    rules: TaskRules = field(default=NO_TASK_RULES)


def task(
    *,
    retry_max: int | None = None,
    retry_intervals: Sequence[int] | None = None,
    job_timeout: int | None = None,
    retry_backoff: str | None = None,
    retry_backoff_base: int | None = None,
    retry_backoff_cap: int | None = None,
    retry_jitter: str | None = None,
    permanent_on: Iterable[Any] = (),
    retry_on: Iterable[Any] = (),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Per-task defaults that override the configuration, e.g. `@task(retry_max=0)` or
    `@task(retry_backoff="exponential", retry_backoff_base=5, retry_jitter="equal",
    permanent_on=(InvoiceRejected, "validation error"), retry_on=("deploy in progress",))`.

    `retry_backoff_base`/`_cap` imply `retry_backoff="exponential"`; `retry_intervals` implies
    `"fixed"`. Raises ValueError for a bad value, so a mistake shows when the module is imported.
    """
    options = TaskOptions(
        retry_max=_whole("retry_max", retry_max, minimum=0),
        retry_intervals=tuple(check_intervals(retry_intervals)) if retry_intervals is not None else None,
        job_timeout=_whole("job_timeout", job_timeout, minimum=1),
        retry_backoff=_backoff(retry_backoff, retry_intervals, retry_backoff_base, retry_backoff_cap),
        retry_backoff_base=_whole("retry_backoff_base", retry_backoff_base, minimum=1),
        retry_backoff_cap=_whole("retry_backoff_cap", retry_backoff_cap, minimum=1),
        retry_jitter=_jitter(retry_jitter),
        rules=task_rules(permanent_on, retry_on),
    )
    if retry_backoff_base is not None and retry_backoff_cap is not None and retry_backoff_cap < retry_backoff_base:
        raise ValueError(f"retry_backoff_cap={retry_backoff_cap}: must be >= retry_backoff_base ({retry_backoff_base})")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, TASK_OPTIONS_ATTRIBUTE, options)
        if options.rules:
            setattr(func, RULES_ATTRIBUTE, options.rules)  # read by the failure handler (retry/rules.py)
        return func

    return decorate


def _whole(name: str, value: int | None, minimum: int) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
        raise ValueError(f"{name}={value!r}: expected a whole number >= {minimum}")
    return value


def _backoff(kind: str | None, intervals: Any, base: int | None, cap: int | None) -> str | None:
    if kind is not None and kind not in BACKOFF_KINDS:
        raise ValueError(f"retry_backoff={kind!r}: expected {' or '.join(BACKOFF_KINDS)}")
    exponential = base is not None or cap is not None
    if intervals is not None and (exponential or kind == "exponential"):
        raise ValueError("give retry_intervals or an exponential backoff (retry_backoff_base/_cap), not both")
    if kind == "fixed" and exponential:
        raise ValueError("retry_backoff='fixed' takes no retry_backoff_base/_cap")
    if kind is None:
        kind = "exponential" if exponential else "fixed" if intervals is not None else None
    return kind


def _jitter(text: str | None) -> Jitter | None:
    if text is None:
        return None
    try:
        return parse_jitter(text)
    except ValueError as error:
        raise ValueError(f"retry_jitter={text!r}: {error}") from None


def task_options_of(func: Callable[..., Any] | str) -> TaskOptions:
    """The `@task` options of a function or dotted path (none if it cannot be imported here)."""
    if isinstance(func, str):
        try:
            func = import_attribute(func)
        except (ImportError, AttributeError, ValueError):
            return TaskOptions()
    return getattr(func, TASK_OPTIONS_ATTRIBUTE, None) or TaskOptions()


def build_retry(retry_max: int, intervals: Sequence[int]) -> Retry | None:
    """RQ's `Retry(max=0)` raises; zero retries means no `Retry` at all."""
    return Retry(max=retry_max, interval=list(intervals)) if retry_max > 0 else None


def configured_retry(options: TaskOptions, settings: Settings) -> PlannedRetry | None:
    """The retry a task gets when the call site names none: delays planned now, jitter attached.

    A fixed list is given to RQ as configured (RQ aligns a short list to the end); an exponential
    backoff is given as its full list. ValueError when the task's base/cap clash with the configured ones.
    """
    retry_max = options.retry_max if options.retry_max is not None else settings.retry_max
    if retry_max <= 0:
        return None
    kind = options.retry_backoff or settings.retry_backoff
    jitter = configured_jitter(options, settings)
    if kind == "exponential":
        base = options.retry_backoff_base or settings.retry_backoff_base
        cap = options.retry_backoff_cap or settings.retry_backoff_cap
        if cap < base:
            raise ValueError(f"retry backoff cap {cap}s is below its base {base}s (@task options and RETRY_BACKOFF_*)")
        return PlannedRetry.from_plan(
            retry_max, exponential_delays(retry_max, base, cap), f"exponential, base {base}s, cap {cap}s", jitter
        )
    intervals = options.retry_intervals or settings.retry_intervals
    return PlannedRetry.from_plan(retry_max, intervals, "fixed", jitter)


def configured_jitter(options: TaskOptions, settings: Settings) -> Jitter:
    return options.retry_jitter or settings.retry_jitter


def planned_delays(retry: Retry) -> list[int]:
    """The delay before each retry of `retry`, as RQ 3.0 will wait them (for job.meta)."""
    return aligned_delays(retry.intervals, retry.max)


def configured_timeout(options: TaskOptions, settings: Settings) -> int:
    """The job timeout a task gets when the call site names none."""
    return options.job_timeout or settings.job_timeout
