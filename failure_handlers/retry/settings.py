"""The retry settings: RETRY_*, JOB_TIMEOUT, NON_RETRYABLE_EXCEPTIONS and the message patterns
(README "Retry policy"): the defaults every job gets unless its `@task(...)` or call site says
otherwise. Pure code; a bad value raises `ConfigError` naming the variable, on one line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from failure_handlers.errors import ConfigError
from failure_handlers.retry.backoff import (
    BACKOFF_KINDS,
    DEFAULT_BACKOFF,
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    NO_JITTER,
    Jitter,
    parse_jitter,
)
from failure_handlers.retry.plan import RetryPlan
from failure_handlers.retry.retry_after import DEFAULT_RETRY_AFTER_MAX
from failure_handlers.retry.rules import parse_patterns
from failure_handlers.settings_reader import Reader, Source

DEFAULT_MAX = 3
DEFAULT_INTERVALS = (30, 60, 120)
DEFAULT_JOB_TIMEOUT = 180  # RQ's own default, in seconds

DEFAULTS = {
    "RETRY_MAX": DEFAULT_MAX,
    "RETRY_INTERVALS": DEFAULT_INTERVALS,
    "JOB_TIMEOUT": DEFAULT_JOB_TIMEOUT,
    "NON_RETRYABLE_EXCEPTIONS": (),
    "RETRY_BACKOFF": DEFAULT_BACKOFF,
    "RETRY_BACKOFF_BASE": DEFAULT_BACKOFF_BASE,
    "RETRY_BACKOFF_CAP": DEFAULT_BACKOFF_CAP,
    "RETRY_JITTER": NO_JITTER.text,
    "RETRY_AFTER_MAX": DEFAULT_RETRY_AFTER_MAX,
    "PERMANENT_MESSAGE_PATTERNS": None,
    "RETRYABLE_MESSAGE_PATTERNS": None,
}


@dataclass(frozen=True)
class RetrySettings:
    """Validated retry settings: the budget and delays of a new job, and which failures are permanent."""

    max: int = DEFAULT_MAX  # retries after the first run; 0 = none
    intervals: tuple[int, ...] = DEFAULT_INTERVALS  # the fixed list (backoff "fixed")
    job_timeout: int = DEFAULT_JOB_TIMEOUT
    non_retryable_exceptions: frozenset[str] = frozenset()
    backoff: str = DEFAULT_BACKOFF  # fixed (intervals) or exponential
    backoff_base: int = DEFAULT_BACKOFF_BASE
    backoff_cap: int = DEFAULT_BACKOFF_CAP
    jitter: Jitter = NO_JITTER
    after_max: int = DEFAULT_RETRY_AFTER_MAX  # bound of a delay asked for by Retry-After / RetryAfter
    permanent_message_patterns: tuple[re.Pattern[str], ...] = ()
    retryable_message_patterns: tuple[re.Pattern[str], ...] = ()

    @property
    def plan(self) -> RetryPlan:
        """The configured retry plan: what a job gets when neither its task nor its call site says."""
        return RetryPlan(self.max, self.backoff, self.intervals, self.backoff_base, self.backoff_cap, self.jitter)


def parse_retry_settings(source: Source) -> RetrySettings:
    """The retry settings from `source`; raises `ConfigError` naming the variable."""
    read = Reader(source, DEFAULTS)
    base = read.whole_number("RETRY_BACKOFF_BASE", minimum=1)
    cap = read.whole_number("RETRY_BACKOFF_CAP", minimum=1)
    if cap < base:
        raise ConfigError(f"RETRY_BACKOFF_CAP={cap}: must be >= RETRY_BACKOFF_BASE ({base})")
    return RetrySettings(
        max=read.whole_number("RETRY_MAX", minimum=0),
        intervals=_intervals(read.given("RETRY_INTERVALS")),
        job_timeout=read.whole_number("JOB_TIMEOUT", minimum=1),
        non_retryable_exceptions=read.dotted_names("NON_RETRYABLE_EXCEPTIONS"),
        backoff=read.choice("RETRY_BACKOFF", BACKOFF_KINDS),
        backoff_base=base,
        backoff_cap=cap,
        jitter=_jitter(read),
        after_max=read.whole_number("RETRY_AFTER_MAX", minimum=1),
        permanent_message_patterns=_patterns(read, "PERMANENT_MESSAGE_PATTERNS"),
        retryable_message_patterns=_patterns(read, "RETRYABLE_MESSAGE_PATTERNS"),
    )


def _intervals(text: str | None) -> tuple[int, ...]:
    if text is None:
        return DEFAULT_INTERVALS
    try:
        intervals = tuple(int(part) for part in text.split(","))
    except ValueError:
        intervals = ()
    if not intervals or any(seconds < 0 for seconds in intervals):
        raise ConfigError(f"RETRY_INTERVALS={text!r}: expected comma-separated whole seconds >= 0, e.g. 30,60,120")
    return intervals


def _jitter(read: Reader) -> Jitter:
    try:
        return parse_jitter(read.text("RETRY_JITTER"))
    except ValueError as error:
        raise ConfigError(f"RETRY_JITTER={read.given('RETRY_JITTER')!r}: {error}") from None


def _patterns(read: Reader, name: str) -> tuple[re.Pattern[str], ...]:
    try:
        return parse_patterns(read.given(name))
    except ValueError as error:
        message = " ".join(str(error).split())  # one line, even for a pattern with a newline in it
        raise ConfigError(f"{name}: {message}") from None
