"""Retry policy, pure: which failures are permanent, and how long until the next attempt.

No Redis and no RQ job here, so every rule is tested with plain pytest.
A failure is permanent (no further retries, straight to the DLQ) when:
1. the exception is a `PermanentError` (or subclass);
2. its class, or any base class, is listed in `NON_RETRYABLE_EXCEPTIONS` (dotted names;
   builtins may be given bare, e.g. `ValueError`);
3. it is a `requests` HTTP error whose response has a 4xx status other than 408, 425 and 429.
Everything else (connection errors, timeouts, 5xx, 429, unknown exceptions) is retried.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import requests

from failure_handlers.errors import PermanentError

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
) -> Verdict:
    """Decide whether a failure is worth retrying."""
    if exc_type is None:
        return Verdict(False, "no exception type")
    if issubclass(exc_type, PermanentError):
        return Verdict(True, f"{exc_type.__name__} is a PermanentError")
    for cls in exc_type.__mro__:
        names = {qualified_name(cls), f"{cls.__module__}.{cls.__qualname__}"}
        if names & set(non_retryable):
            return Verdict(True, f"{qualified_name(cls)} is listed in NON_RETRYABLE_EXCEPTIONS")
    status = _http_status(exc_value)
    if status is not None:
        if 400 <= status < 500 and status not in RETRYABLE_CLIENT_STATUSES:
            return Verdict(True, f"HTTP {status} is a client error")
        return Verdict(False, f"HTTP {status} may succeed later")
    return Verdict(False, "transient by default")


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
