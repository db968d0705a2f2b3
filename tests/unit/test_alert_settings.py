"""ALERT_* and DASHBOARD_URL (failure_handlers/alerts/settings.py): defaults, values, and one-line
errors naming the variable."""

from __future__ import annotations

import pytest

from failure_handlers.alerts.settings import AlertSettings, parse_alert_settings
from failure_handlers.config import parse_settings
from failure_handlers.errors import ConfigError
from failure_handlers.settings_reader import source_of


def env(**values: str) -> dict[str, str]:
    return values


@pytest.mark.parametrize(
    ("values", "named"),
    [
        (env(ALERT_WEBHOOK_URL="hooks.example/x"), "ALERT_WEBHOOK_URL"),
        (env(ALERT_WEBHOOK_FORMAT="xml"), "ALERT_WEBHOOK_FORMAT"),
        (env(ALERT_SMTP_URL="smtp://mail.example"), "ALERT_EMAIL_TO"),
        (env(ALERT_SMTP_URL="http://mail.example", ALERT_EMAIL_TO="a@b"), "ALERT_SMTP_URL"),
        (env(ALERT_EMAIL_TO="not-an-address"), "ALERT_EMAIL_TO"),
        (env(ALERT_COOLDOWN_SECONDS="0"), "ALERT_COOLDOWN_SECONDS"),
        (env(ALERT_GROUP_COUNT="many"), "ALERT_GROUP_COUNT"),
        (env(ALERT_NEW_GROUP="perhaps"), "ALERT_NEW_GROUP"),
        (env(DASHBOARD_URL="ops.example"), "DASHBOARD_URL"),
    ],
)
def test_bad_alert_settings_name_the_variable(values, named):
    with pytest.raises(ConfigError, match=named):
        parse_settings(values)


def test_a_bad_webhook_url_is_not_repeated_in_the_error():
    with pytest.raises(ConfigError) as caught:
        parse_settings({"ALERT_WEBHOOK_URL": "ftp://hooks.example/services/SECRET"})
    assert "SECRET" not in str(caught.value)


def test_alert_settings_defaults():
    settings = parse_settings({})
    assert (settings.alerts.cooldown_seconds, settings.alerts.group_count, settings.alerts.group_minutes) == (
        3600,
        10,
        10,
    )
    assert settings.alerts.webhook_format == "slack" and settings.alerts.new_group is True
    assert settings.alerts.max_age_seconds is None  # DLQ_MAX_AGE_SECONDS then


def test_alert_values_are_read():
    alerts = parse_alert_settings(
        source_of({"ALERT_SMTP_URL": "smtps://mail.example", "ALERT_EMAIL_TO": "a@b.example, c@d.example",
                   "ALERT_MAX_AGE_SECONDS": "600", "ALERT_NEW_GROUP": "off", "ALERT_WEBHOOK_FORMAT": "JSON"})
    )  # fmt: skip
    assert alerts.email_to == ("a@b.example", "c@d.example") and alerts.smtp_url == "smtps://mail.example"
    assert alerts.max_age_seconds == 600 and alerts.new_group is False and alerts.webhook_format == "json"


def test_the_age_alert_falls_back_to_the_dlq_max_age():
    assert AlertSettings().max_age(86400) == 86400
    assert AlertSettings(max_age_seconds=600).max_age(86400) == 600
