"""`Settings` (failure_handlers/config.py): the process-wide values, the slices it composes, `.env`."""

import pytest

from failure_handlers.alerts.settings import AlertSettings
from failure_handlers.archive.settings import ArchiveSettings
from failure_handlers.circuits.settings import CircuitSettings
from failure_handlers.config import Settings, load_settings, parse_settings
from failure_handlers.dlq.settings import DlqSettings
from failure_handlers.errors import ConfigError
from failure_handlers.metrics.settings import MetricsSettings
from failure_handlers.retry.settings import RetrySettings
from failure_handlers.web.settings import DashboardSettings


def test_defaults_when_nothing_is_set():
    settings = parse_settings({})
    assert settings.redis_url is None
    assert settings.serializer == "pickle"
    assert settings.log_level == "INFO" and settings.log_json is False
    assert settings.redact_keys == ("password", "token", "secret", "authorization", "api_key")


def test_unset_everything_is_the_dataclass_defaults():
    assert parse_settings({}) == Settings()


def test_each_subsystem_gets_its_own_slice():
    settings = parse_settings({})
    slices = (settings.retry, settings.dlq, settings.circuits, settings.archive, settings.alerts, settings.metrics)
    kinds = (RetrySettings, DlqSettings, CircuitSettings, ArchiveSettings, AlertSettings, MetricsSettings)
    assert all(isinstance(part, kind) for part, kind in zip(slices, kinds, strict=True))
    assert isinstance(settings.dashboard, DashboardSettings)


def test_every_process_variable_is_parsed():
    settings = parse_settings(
        {
            "REDIS_URL": "rediss://user:pw@cache:6380/2",
            "REDACT_KEYS": "PIN,Password",
            "LOG_LEVEL": "warning",
            "LOG_JSON": "yes",
            "RQ_SERIALIZER": "json",
        }
    )
    assert settings.redis_url == "rediss://user:pw@cache:6380/2"
    assert settings.redact_keys == ("pin", "password")
    assert settings.log_level == "WARNING" and settings.log_json is True
    assert settings.serializer == "json"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LOG_LEVEL", "LOUD"),
        ("LOG_JSON", "maybe"),
        ("REDIS_URL", "http://localhost:6379"),
        ("RQ_SERIALIZER", "not a path"),
        # one of each subsystem: parse_settings reaches every slice's parser
        ("RETRY_INTERVALS", "abc"),
        ("DLQ_PREFIX", "rq dlq"),
        ("CIRCUIT_RESET_SECONDS", "0"),
        ("ARCHIVE_BATCH_SIZE", "0"),
        ("ALERT_GROUP_COUNT", "many"),
        ("METRICS_TOP_GROUPS", "0"),
        ("DASHBOARD_PORT", "70000"),
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


def test_blank_values_count_as_unset():
    assert parse_settings({"REDIS_URL": "  ", "LOG_LEVEL": ""}) == Settings()


def test_dotenv_supplies_defaults_and_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("RETRY_MAX=7\nJOB_TIMEOUT=99\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"JOB_TIMEOUT": "42"})
    assert settings.retry.max == 7
    assert settings.retry.job_timeout == 42
