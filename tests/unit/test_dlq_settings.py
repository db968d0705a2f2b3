"""DLQ_* (failure_handlers/dlq/settings.py): defaults, values, and one-line errors naming the variable."""

import pytest

from failure_handlers.dlq.settings import DEFAULT_TTL_SECONDS, parse_dlq_settings
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.errors import ConfigError
from failure_handlers.settings_reader import source_of


def dlq_settings(**values):
    return parse_dlq_settings(source_of(values))


def test_defaults():
    settings = dlq_settings()
    assert settings.prefix == "rq:dlq:"
    assert settings.ttl_seconds == DEFAULT_TTL_SECONDS == 604800
    assert (settings.max_entries, settings.warn_size, settings.crit_size) == (10_000, 100, 1_000)
    assert settings.max_age_seconds == 86400
    assert (settings.wait_replicas, settings.wait_timeout_ms) == (0, 1000)


def test_every_variable_is_parsed():
    settings = dlq_settings(
        DLQ_PREFIX="app:dead:",
        DLQ_TTL_SECONDS="3600",
        DLQ_MAX_ENTRIES="500",
        DLQ_WARN_SIZE="5",
        DLQ_CRIT_SIZE="50",
        DLQ_MAX_AGE_SECONDS="600",
        DLQ_WAIT_REPLICAS="2",
        DLQ_WAIT_TIMEOUT_MS="250",
    )
    assert settings.prefix == "app:dead:" and settings.ttl_seconds == 3600
    assert (settings.max_entries, settings.warn_size, settings.crit_size) == (500, 5, 50)
    assert settings.max_age_seconds == 600
    assert (settings.wait_replicas, settings.wait_timeout_ms) == (2, 250)


def test_the_store_defaults_to_the_configured_bound(fake_redis):
    assert DeadLetterQueue(fake_redis, "p:", 60).max_entries == dlq_settings().max_entries


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DLQ_TTL_SECONDS", "1.5"),
        ("DLQ_PREFIX", "rq dlq"),
        ("DLQ_PREFIX", "rq:*"),
        ("DLQ_MAX_ENTRIES", "0"),
        ("DLQ_WARN_SIZE", "lots"),
        ("DLQ_CRIT_SIZE", "-1"),
        ("DLQ_MAX_AGE_SECONDS", "1d"),
        ("DLQ_WAIT_REPLICAS", "-1"),
        ("DLQ_WAIT_TIMEOUT_MS", "0"),  # WAIT n 0 would block the handler for ever
    ],
)
def test_bad_value_names_the_variable(name, value):
    with pytest.raises(ConfigError) as raised:
        dlq_settings(**{name: value})
    message = str(raised.value)
    assert message.startswith(f"{name}={value!r}") and "\n" not in message
