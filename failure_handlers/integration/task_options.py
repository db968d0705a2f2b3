"""Per-task retry and timeout defaults (`@task(...)`), and how they combine with the configuration.

Precedence: what the call site passes > the task's `@task(...)` options > `RETRY_MAX` /
`RETRY_INTERVALS` / `JOB_TIMEOUT` from the configuration. Pure code: no Redis.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rq import Retry
from rq.utils import import_attribute

from failure_handlers.config import Settings

TASK_OPTIONS_ATTRIBUTE = "__rq_task_options__"


@dataclass(frozen=True)
class TaskOptions:
    retry_max: int | None = None
    retry_intervals: tuple[int, ...] | None = None
    job_timeout: int | None = None


def task(
    *,
    retry_max: int | None = None,
    retry_intervals: Sequence[int] | None = None,
    job_timeout: int | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Per-task defaults that override the configuration, e.g. `@task(retry_max=0)`."""
    options = TaskOptions(retry_max, tuple(retry_intervals) if retry_intervals is not None else None, job_timeout)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        setattr(func, TASK_OPTIONS_ATTRIBUTE, options)
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


def build_retry(retry_max: int, intervals: Sequence[int]) -> Retry | None:
    """RQ's `Retry(max=0)` raises; zero retries means no `Retry` at all."""
    return Retry(max=retry_max, interval=list(intervals)) if retry_max > 0 else None


def configured_retry(options: TaskOptions, settings: Settings) -> Retry | None:
    """The retry a task gets when the call site names none."""
    retry_max = options.retry_max if options.retry_max is not None else settings.retry_max
    return build_retry(retry_max, options.retry_intervals or settings.retry_intervals)


def configured_timeout(options: TaskOptions, settings: Settings) -> int:
    """The job timeout a task gets when the call site names none."""
    return options.job_timeout or settings.job_timeout
