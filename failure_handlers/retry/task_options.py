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

from rq.utils import import_attribute

from failure_handlers.retry.plan import TASK_NAMES, RetryPlan
from failure_handlers.retry.rules import NO_TASK_RULES, RULES_ATTRIBUTE, TaskRules, task_rules

TASK_OPTIONS_ATTRIBUTE = "__rq_task_options__"


@dataclass(frozen=True)
class TaskOptions:
    """A task's own `@task(...)` options; None (or an empty plan) = from the configuration."""

    plan: RetryPlan = field(default_factory=RetryPlan)
    job_timeout: int | None = None
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
    if job_timeout is not None and (
        isinstance(job_timeout, bool) or not isinstance(job_timeout, int) or job_timeout < 1
    ):
        raise ValueError(f"job_timeout={job_timeout!r}: expected a whole number >= 1")
    options = TaskOptions(
        plan=RetryPlan.given(
            max=retry_max,
            intervals=retry_intervals,
            backoff=retry_backoff,
            base=retry_backoff_base,
            cap=retry_backoff_cap,
            jitter=retry_jitter,
            names=TASK_NAMES,
        ),
        job_timeout=job_timeout,
        rules=task_rules(permanent_on, retry_on),
    )

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, TASK_OPTIONS_ATTRIBUTE, options)
        if options.rules:
            setattr(func, RULES_ATTRIBUTE, options.rules)  # read by the failure handler (retry/rules.py)
        return func

    return decorate


def task_options_of(func: Callable[..., Any] | str) -> TaskOptions:
    """The `@task` options of a function or dotted path (none if it cannot be imported here)."""
    if isinstance(func, str):
        try:
            func = import_attribute(func)
        except (ImportError, AttributeError, ValueError):
            return TaskOptions()
    return getattr(func, TASK_OPTIONS_ATTRIBUTE, None) or TaskOptions()


def configured_timeout(options: TaskOptions, job_timeout: int) -> int:
    """The job timeout a task gets when the call site names none (`job_timeout`: the configured one)."""
    return options.job_timeout or job_timeout
