import pytest

from failure_handlers.config import DEFAULT_DLQ_TTL_SECONDS, load_settings, parse_settings
from failure_handlers.errors import ConfigError


def test_defaults_when_nothing_is_set():
    settings = parse_settings({})
    assert settings.redis_url is None
    assert settings.retry_max == 3
    assert settings.retry_intervals == (30, 60, 120)
    assert settings.job_timeout == 180
    assert settings.dlq_prefix == "rq:dlq:"
    assert settings.dlq_ttl_seconds == DEFAULT_DLQ_TTL_SECONDS == 604800
    assert settings.non_retryable_exceptions == frozenset()
    assert settings.log_level == "INFO" and settings.log_json is False


def test_every_variable_is_parsed():
    settings = parse_settings(
        {
            "REDIS_URL": "rediss://user:pw@cache:6380/2",
            "RETRY_MAX": "5",
            "RETRY_INTERVALS": " 1, 2,4 ",
            "JOB_TIMEOUT": "60",
            "DLQ_PREFIX": "app:dead:",
            "DLQ_TTL_SECONDS": "3600",
            "DLQ_MAX_ENTRIES": "500",
            "DLQ_WARN_SIZE": "5",
            "DLQ_CRIT_SIZE": "50",
            "DLQ_MAX_AGE_SECONDS": "600",
            "NON_RETRYABLE_EXCEPTIONS": "ValueError, myapp.errors.Bad",
            "REDACT_KEYS": "PIN,Password",
            "LOG_LEVEL": "warning",
            "LOG_JSON": "yes",
        }
    )
    assert settings.redis_url == "rediss://user:pw@cache:6380/2"
    assert settings.retry_max == 5
    assert settings.retry_intervals == (1, 2, 4)
    assert settings.job_timeout == 60
    assert settings.dlq_prefix == "app:dead:"
    assert settings.dlq_ttl_seconds == 3600
    assert (settings.dlq_max_entries, settings.dlq_warn_size, settings.dlq_crit_size) == (500, 5, 50)
    assert settings.dlq_max_age_seconds == 600
    assert settings.non_retryable_exceptions == {"ValueError", "myapp.errors.Bad"}
    assert settings.redact_keys == ("pin", "password")
    assert settings.log_level == "WARNING" and settings.log_json is True


def test_zero_retries_is_allowed():
    assert parse_settings({"RETRY_MAX": "0"}).retry_max == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RETRY_INTERVALS", "abc"),
        ("RETRY_INTERVALS", "30,,60"),
        ("RETRY_INTERVALS", "30,-1"),
        ("RETRY_MAX", "-1"),
        ("RETRY_MAX", "three"),
        ("JOB_TIMEOUT", "0"),
        ("DLQ_TTL_SECONDS", "1.5"),
        ("DLQ_PREFIX", "rq dlq"),
        ("DLQ_MAX_ENTRIES", "0"),
        ("DLQ_WARN_SIZE", "lots"),
        ("DLQ_MAX_AGE_SECONDS", "1d"),
        ("NON_RETRYABLE_EXCEPTIONS", "not a class"),
        ("LOG_LEVEL", "LOUD"),
        ("LOG_JSON", "maybe"),
        ("REDIS_URL", "http://localhost:6379"),
    ],
)
def test_bad_value_names_the_variable(name, value):
    with pytest.raises(ConfigError) as raised:
        parse_settings({name: value})
    message = str(raised.value)
    assert name in message and "\n" not in message


def test_bad_redis_url_message_hides_the_password():
    with pytest.raises(ConfigError) as raised:
        parse_settings({"REDIS_URL": "http://admin:hunter2@cache:6379"})
    assert "hunter2" not in str(raised.value)


def test_dotenv_supplies_defaults_and_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("RETRY_MAX=7\nJOB_TIMEOUT=99\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"JOB_TIMEOUT": "42"})
    assert settings.retry_max == 7
    assert settings.job_timeout == 42
