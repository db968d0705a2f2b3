"""Message patterns, @task rules and their precedence over the older rules (retry.policy.classify)."""

import random
import re
from datetime import UTC, datetime

import pytest
import requests

from failure_handlers.errors import PermanentError, RetryAfter
from failure_handlers.retry.backoff import Jitter
from failure_handlers.retry.policy import classify, intervals_with, next_delay
from failure_handlers.retry.rules import MAX_MATCHED_CHARS, NO_TASK_RULES, parse_patterns, task_rules

VALIDATION = parse_patterns("validation error")
DEPLOY = parse_patterns("(?i)deploy in progress")
NOW = datetime(2026, 11, 23, tzinfo=UTC)


def http_error(status: int, message: str = "", retry_after: str | None = None) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    if retry_after:
        response.headers["Retry-After"] = retry_after
    return requests.HTTPError(message or f"{status} error", response=response)


def verdict(exc, non_retryable=(), permanent=(), retryable=(), rules=NO_TASK_RULES):
    return classify(
        type(exc), exc, non_retryable, permanent_patterns=permanent, retryable_patterns=retryable, task_rules=rules
    )


def test_newline_separated_patterns():
    assert [p.pattern for p in parse_patterns("validation error\n\n  (?i)bad iban, or worse  \n")] == [
        "validation error",
        "(?i)bad iban, or worse",
    ]


def test_json_array_of_patterns_keeps_commas_and_newlines_in_a_pattern():
    assert [p.pattern for p in parse_patterns('["a, b", "x{1,3}"]')] == ["a, b", "x{1,3}"]


def test_a_pattern_starting_with_a_character_class_is_not_taken_for_json():
    assert [p.pattern for p in parse_patterns("[Tt]imeout")] == ["[Tt]imeout"]


@pytest.mark.parametrize("text", ["(unclosed", "[abc", '["ok", 3]', '["a"', '[""]', "*oops"])
def test_bad_pattern_text_raises_value_error(text):
    with pytest.raises(ValueError):
        parse_patterns(text)


def test_permanent_message_pattern_makes_a_retryable_failure_permanent():
    result = verdict(ConnectionError("upstream said: validation error in field x"), permanent=VALIDATION)
    assert result.permanent
    assert result.reason == "message matches PERMANENT_MESSAGE_PATTERNS 'validation error'"


def test_retryable_message_pattern_beats_non_retryable_class_and_http_4xx():
    assert not verdict(ValueError("Deploy in progress"), non_retryable={"ValueError"}, retryable=DEPLOY).permanent
    result = verdict(http_error(409, "409: deploy in progress"), retryable=DEPLOY)
    assert not result.permanent and "RETRYABLE_MESSAGE_PATTERNS" in result.reason


def test_permanent_pattern_is_checked_before_retryable_pattern():
    both = parse_patterns("deploy")
    assert verdict(RuntimeError("deploy"), permanent=both, retryable=both).permanent


def test_permanent_error_beats_a_retryable_message_pattern():
    assert verdict(PermanentError("deploy in progress"), retryable=DEPLOY).permanent


def test_task_rules_beat_permanent_error_and_configured_patterns():
    rules = task_rules(retry_on=(PermanentError,))
    result = verdict(PermanentError("validation error"), permanent=VALIDATION, rules=rules)
    assert not result.permanent and result.reason == "exception is a @task(retry_on) PermanentError"


def test_task_permanent_on_class_and_pattern():
    rules = task_rules(permanent_on=(KeyError, "no such customer"))
    assert verdict(KeyError("x"), rules=rules).reason == "exception is a @task(permanent_on) KeyError"
    result = verdict(ConnectionError("no such customer 42"), rules=rules)
    assert result.permanent and result.reason == "message matches @task(permanent_on) 'no such customer'"


def test_task_permanent_on_is_checked_before_retry_on():
    rules = task_rules(permanent_on=("x",), retry_on=("x",))
    assert verdict(RuntimeError("x"), rules=rules).permanent


def test_retry_after_beats_every_permanent_rule():
    rules = task_rules(permanent_on=(RetryAfter,))
    result = verdict(RetryAfter(5, "validation error"), {"failure_handlers.errors.RetryAfter"}, VALIDATION, (), rules)
    assert not result.permanent and "RetryAfter" in result.reason


def test_non_retryable_class_beats_http_status():
    assert verdict(http_error(503), {"requests.exceptions.HTTPError"}).permanent


def test_only_the_head_of_a_huge_message_is_matched():
    tail = parse_patterns("needle")
    assert not verdict(RuntimeError("x" * MAX_MATCHED_CHARS + "needle"), permanent=tail).permanent
    assert verdict(RuntimeError("x" * (MAX_MATCHED_CHARS - 6) + "needle"), permanent=tail).permanent


def test_hostile_str_does_not_break_classification():
    class Hostile(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert not verdict(Hostile(), permanent=VALIDATION).permanent


@pytest.mark.parametrize(
    ("permanent_on", "retry_on"),
    [((42,), ()), (("(unclosed",), ()), ((), ("",)), ((), (object,)), ((), (int,))],
)
def test_bad_task_rules_raise_value_error(permanent_on, retry_on):
    with pytest.raises(ValueError, match="permanent_on|retry_on"):
        task_rules(permanent_on, retry_on)


def test_next_delay_follows_the_original_schedule_and_retries_left():
    schedule = [1, 2, 4]
    assert [next_delay(schedule, left, None, retry_after_max=60, now=NOW).actual for left in (3, 2, 1)] == [1, 2, 4]


def test_next_delay_with_jitter_stays_in_bounds_and_notes_the_plan():
    rng = random.Random(3)
    delays = [
        next_delay([100], 1, None, jitter=Jitter("equal"), retry_after_max=60, now=NOW, rng=rng) for _ in range(50)
    ]
    assert all(50 <= d.actual <= 100 and d.planned == 100 for d in delays)
    assert len({d.actual for d in delays}) > 10 and delays[0].note == "planned 100s, equal jitter"


def test_retry_after_wins_over_the_plan_without_jitter():
    delay = next_delay([600], 1, http_error(429, retry_after="2"), jitter=Jitter("full"), retry_after_max=60, now=NOW)
    assert (delay.planned, delay.actual) == (600, 2) and "Retry-After of HTTP 429" in delay.note


def test_intervals_with_replaces_only_the_coming_slot():
    assert intervals_with([1, 2, 4], 3, 9) == [9, 2, 4]
    assert intervals_with([1, 2, 4], 1, 9) == [1, 2, 9]
    assert intervals_with([], 2, 5) == [5]
    assert intervals_with([7], 5, 3) == [3]


def test_patterns_are_compiled_regexes():
    assert all(isinstance(p, re.Pattern) for p in parse_patterns('["a", "b"]'))
