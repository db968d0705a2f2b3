"""The retry-policy variables (failure_handlers/retry_config.py) through `parse_settings`."""

import pytest

from failure_handlers.config import parse_settings
from failure_handlers.errors import ConfigError
from failure_handlers.retry.backoff import Jitter


def test_defaults_keep_todays_fixed_list_without_jitter():
    settings = parse_settings({})
    assert (settings.retry_backoff, settings.retry_backoff_base, settings.retry_backoff_cap) == ("fixed", 30, 600)
    assert settings.retry_jitter == Jitter("none") and settings.retry_after_max == 3600
    assert settings.permanent_message_patterns == () and settings.retryable_message_patterns == ()


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
    assert (settings.retry_backoff, settings.retry_backoff_base, settings.retry_backoff_cap) == ("exponential", 5, 60)
    assert settings.retry_jitter == Jitter("fraction", 0.2) and settings.retry_after_max == 120
    assert [p.pattern for p in settings.permanent_message_patterns] == ["validation error", "(?i)bad iban"]
    assert [p.pattern for p in settings.retryable_message_patterns] == [
        "deploy in progress",
        r"try again in \d+ seconds",
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
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
