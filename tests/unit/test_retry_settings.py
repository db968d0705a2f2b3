"""The retry settings (failure_handlers/retry/settings.py): RETRY_*, JOB_TIMEOUT, NON_RETRYABLE_EXCEPTIONS
and the message patterns, through `parse_settings`."""

import pytest

from failure_handlers.config import parse_settings
from failure_handlers.errors import ConfigError
from failure_handlers.retry.backoff import Jitter
from failure_handlers.retry.plan import RetryPlan


def test_defaults_keep_todays_fixed_list_without_jitter():
    settings = parse_settings({})
    assert (settings.retry.backoff, settings.retry.backoff_base, settings.retry.backoff_cap) == ("fixed", 30, 600)
    assert settings.retry.jitter == Jitter("none") and settings.retry.after_max == 3600
    assert settings.retry.permanent_message_patterns == () and settings.retry.retryable_message_patterns == ()


def test_budget_and_timeout_defaults():
    retry = parse_settings({}).retry
    assert (retry.max, retry.intervals, retry.job_timeout) == (3, (30, 60, 120), 180)
    assert retry.non_retryable_exceptions == frozenset()


def test_budget_list_timeout_and_class_names_are_parsed():
    retry = parse_settings(
        {
            "RETRY_MAX": "5",
            "RETRY_INTERVALS": " 1, 2,4 ",
            "JOB_TIMEOUT": "60",
            "NON_RETRYABLE_EXCEPTIONS": "ValueError, myapp.errors.Bad",
        }
    ).retry
    assert (retry.max, retry.intervals, retry.job_timeout) == (5, (1, 2, 4), 60)
    assert retry.non_retryable_exceptions == {"ValueError", "myapp.errors.Bad"}


def test_zero_retries_is_allowed():
    assert parse_settings({"RETRY_MAX": "0"}).retry.max == 0


def test_the_configured_plan_is_the_settings_plan():
    retry = parse_settings({"RETRY_MAX": "2", "RETRY_BACKOFF": "exponential", "RETRY_JITTER": "full"}).retry
    assert retry.plan == RetryPlan(2, "exponential", (30, 60, 120), 30, 600, Jitter("full"))


def test_every_retry_variable_is_parsed():
    settings = parse_settings(
        {
            "RETRY_BACKOFF": "Exponential",
            "RETRY_BACKOFF_BASE": "5",
            "RETRY_BACKOFF_CAP": "60",
            "RETRY_JITTER": "0.2",
            "RETRY_AFTER_MAX": "120",
            "PERMANENT_MESSAGE_PATTERNS": "validation error\n(?i)bad iban",
            "RETRYABLE_MESSAGE_PATTERNS": '["deploy in progress", "try again in \\\\d+ seconds"]',
        }
    )
    assert (settings.retry.backoff, settings.retry.backoff_base, settings.retry.backoff_cap) == ("exponential", 5, 60)
    assert settings.retry.jitter == Jitter("fraction", 0.2) and settings.retry.after_max == 120
    assert [p.pattern for p in settings.retry.permanent_message_patterns] == ["validation error", "(?i)bad iban"]
    assert [p.pattern for p in settings.retry.retryable_message_patterns] == [
        "deploy in progress",
        r"try again in \d+ seconds",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RETRY_INTERVALS", "abc"),
        ("RETRY_INTERVALS", "30,,60"),
        ("RETRY_INTERVALS", "30,-1"),
        ("RETRY_MAX", "-1"),
        ("RETRY_MAX", "three"),
        ("JOB_TIMEOUT", "0"),
        ("NON_RETRYABLE_EXCEPTIONS", "not a class"),
        ("RETRY_BACKOFF", "linear"),
        ("RETRY_BACKOFF_BASE", "0"),
        ("RETRY_BACKOFF_BASE", "1.5"),
        ("RETRY_BACKOFF_BASE", "thirty"),
        ("RETRY_BACKOFF_CAP", "-1"),
        ("RETRY_BACKOFF_CAP", "10"),  # below the default base of 30
        ("RETRY_JITTER", "lots"),
        ("RETRY_JITTER", "2"),
        ("RETRY_JITTER", "-0.2"),
        ("RETRY_AFTER_MAX", "0"),
        ("RETRY_AFTER_MAX", "1h"),
        ("PERMANENT_MESSAGE_PATTERNS", "(unclosed"),
        ("PERMANENT_MESSAGE_PATTERNS", "ok\n[bad"),
        ("RETRYABLE_MESSAGE_PATTERNS", '["ok", 3]'),
        ("RETRYABLE_MESSAGE_PATTERNS", '[""]'),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(name, value):
    with pytest.raises(ConfigError) as raised:
        parse_settings({name: value})
    message = str(raised.value)
    assert message.startswith(name) and "\n" not in message


def test_cap_below_base_names_both():
    with pytest.raises(ConfigError, match=r"RETRY_BACKOFF_CAP=5: must be >= RETRY_BACKOFF_BASE \(10\)"):
        parse_settings({"RETRY_BACKOFF_BASE": "10", "RETRY_BACKOFF_CAP": "5"})
