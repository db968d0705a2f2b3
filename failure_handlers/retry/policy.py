"""Retry policy, pure: which failures are permanent, and how long until the next attempt.

No Redis and no RQ job here, so every rule is tested with plain pytest.
`classify` decides with the FIRST rule that matches, in this order (README "Retry policy"):
1. `RetryAfter` raised by the task: retried (the task asked for it, with its own delay);
2. the task's own `@task(permanent_on=...)`, then `@task(retry_on=...)` (classes or message regexes);
3. a `PermanentError` (or subclass): permanent;
4. the message matches `PERMANENT_MESSAGE_PATTERNS` (permanent), then `RETRYABLE_MESSAGE_PATTERNS`
   (retried): a message says more than a class ("deploy in progress" can come in any exception);
5. the class, or any base class, is listed in `NON_RETRYABLE_EXCEPTIONS` (dotted names; builtins may
   be given bare, e.g. `ValueError`): permanent;
6. a `requests` HTTP error whose response has a 4xx status other than 408, 425 and 429: permanent;
7. everything else (connection errors, timeouts, 5xx, 429, unknown exceptions) is retried.
The most specific word wins: the task's author, then the operator's message rules, then class lists.
Within a level, permanent is checked first.

`next_delay` picks the coming retry's delay: a Retry-After the failure carries (bounded, no jitter),
else the planned delay of the original schedule with the job's jitter.
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import requests

from failure_handlers.errors import PermanentError, RetryAfter
from failure_handlers.retry.backoff import NO_JITTER, SYSTEM_RANDOM, Jitter, jittered
from failure_handlers.retry.retry_after import requested_delay
from failure_handlers.retry.rules import NO_TASK_RULES, TaskRules, first_pattern_match, matching_rule, message_head

DEFAULT_VERDICT_REASON = "transient by default"  # no rule matched: retried
RETRYABLE_CLIENT_STATUSES = frozenset({408, 425, 429})  # timeout, too early, too many requests


@dataclass(frozen=True)
class Verdict:
    permanent: bool
    reason: str


def qualified_name(cls: type) -> str:
    """`module.QualName` of a class; builtins keep their bare name (`ValueError`)."""
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def classify(
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    non_retryable: Collection[str] = (),
    *,
    permanent_patterns: Sequence[re.Pattern[str]] = (),
    retryable_patterns: Sequence[re.Pattern[str]] = (),
    task_rules: TaskRules = NO_TASK_RULES,
) -> Verdict:
    """Decide whether a failure is worth retrying; the reason names the rule that decided."""
    if exc_type is None:
        return Verdict(False, "no exception type")
    if issubclass(exc_type, RetryAfter):
        kind = "" if exc_type is RetryAfter else " (a RetryAfter)"
        return Verdict(False, f"the task raised {exc_type.__name__}{kind}")
    needs_message = task_rules or permanent_patterns or retryable_patterns
    message = message_head(exc_value) if needs_message else ""
    if task_rules:
        if rule := matching_rule(task_rules.permanent_on, exc_type, message):
            return Verdict(True, f"{_matched(rule)} @task(permanent_on) {rule}")
        if rule := matching_rule(task_rules.retry_on, exc_type, message):
            return Verdict(False, f"{_matched(rule)} @task(retry_on) {rule}")
    if issubclass(exc_type, PermanentError):
        return Verdict(True, f"{exc_type.__name__} is a PermanentError")
    if pattern := first_pattern_match(permanent_patterns, message):
        return Verdict(True, f"message matches PERMANENT_MESSAGE_PATTERNS {pattern.pattern!r}")
    if pattern := first_pattern_match(retryable_patterns, message):
        return Verdict(False, f"message matches RETRYABLE_MESSAGE_PATTERNS {pattern.pattern!r}")
    listed = set(non_retryable)
    for cls in exc_type.__mro__ if listed else ():
        names = {qualified_name(cls), f"{cls.__module__}.{cls.__qualname__}"}
        if names & listed:
            return Verdict(True, f"{qualified_name(cls)} is listed in NON_RETRYABLE_EXCEPTIONS")
    status = _http_status(exc_value)
    if status is not None:
        if 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUSES:
            return Verdict(True, f"HTTP {status} is a client error")
        return Verdict(False, f"HTTP {status} may succeed later")
    return Verdict(False, DEFAULT_VERDICT_REASON)


def _matched(rule: str) -> str:
    return "message matches" if rule.startswith(("'", '"')) else "exception is a"


def _http_status(exc_value: BaseException | None) -> int | None:
    if not isinstance(exc_value, requests.HTTPError):
        return None
    response = exc_value.response
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_delay(intervals: Sequence[int] | None, retries_left: int) -> int:
    """Seconds until the next attempt, as RQ 3.0 computes it (`Job.get_retry_interval`).

    A list shorter than the retry budget is aligned to its end, so the first value repeats.
    """
    if not intervals or retries_left < 1:
        return 0
    return intervals[max(len(intervals) - retries_left, 0)]


@dataclass(frozen=True)
class Attempt:
    """Where a failed run stands in its retry budget: run `number` of `total` allowed."""

    number: int
    total: int

    @property
    def is_last(self) -> bool:
        return self.number >= self.total


def attempt_of(max_retries: int | None, retries_left: int | None, earlier_failures: int = 0) -> Attempt:
    """The attempt RQ is failing now, from the budget and what the job has left.

    RQ 3.0 runs the failure callback (and the worker's exception handlers) before it decrements
    `retries_left` (docs/rq-behaviour.md#the-failure-callback), so with `max=3` the handler sees
    3, 2, 1, 0 on runs 1..4; a job without `Retry`
    has `retries_left=None`. RQ does not store `max`: a job enqueued without our `max_retries`
    meta gets its budget from the failures recorded so far plus what is left.
    """
    left = retries_left or 0
    if max_retries is None:
        max_retries = left + earlier_failures
    budget = max(max_retries, left)
    return Attempt(number=budget - left + 1, total=budget + 1)


@dataclass(frozen=True)
class NextDelay:
    """The coming retry's delay: `planned` by the schedule, `actual` after jitter or Retry-After."""

    planned: int
    actual: int
    note: str  # how `actual` was chosen, for the log line and the attempt record


def next_delay(
    schedule: Sequence[int],
    retries_left: int,
    exc_value: BaseException | None,
    *,
    jitter: Jitter = NO_JITTER,
    retry_after_max: int,
    now: datetime,
    rng: random.Random = SYSTEM_RANDOM,
) -> NextDelay:
    """The delay before the retry RQ is about to schedule (`retries_left` as the handler sees it).

    `schedule` is the ORIGINAL plan (job.meta), never a list already changed for an earlier retry.
    A Retry-After (raised by the task, or on a 429/503 response) is honoured as given, bounded by
    `retry_after_max`, without jitter: the server named a time, spreading it would only make some
    retries come too early.
    """
    planned = retry_delay(schedule, retries_left)
    requested = requested_delay(exc_value, retry_after_max, now)
    if requested is not None:
        seconds, source = requested
        return NextDelay(planned, seconds, f"{source}: {seconds}s, no jitter; planned {planned}s")
    if jitter.kind == "none":
        return NextDelay(planned, planned, f"planned {planned}s")
    return NextDelay(planned, jittered(planned, jitter, rng), f"planned {planned}s, {jitter.describe()}")


def intervals_with(schedule: Sequence[int], retries_left: int, delay: int) -> list[int]:
    """The interval list to give RQ so that `job.retry()` waits `delay` now: the original schedule
    with the coming retry's slot replaced (RQ 3.0 indexes it as `retry_delay` does). Later retries
    still see their planned delays even if the handler cannot run again."""
    intervals = [int(value) for value in schedule] or [0]
    intervals[max(len(intervals) - max(retries_left, 1), 0)] = delay
    return intervals
