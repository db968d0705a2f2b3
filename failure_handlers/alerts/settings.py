"""The ALERT_* settings and DASHBOARD_URL: alert channels, rules and delivery (README "Alerts"). Pure code."""

from __future__ import annotations

from dataclasses import dataclass

from failure_handlers.errors import ConfigError
from failure_handlers.settings_reader import Reader, Source

WEBHOOK_FORMATS = ("slack", "json")
DEFAULT_WEBHOOK_FORMAT = "slack"
DEFAULT_EMAIL_FROM = "rq-dlq@localhost"
DEFAULT_COOLDOWN_SECONDS = 3600
DEFAULT_INTERVAL_SECONDS = 60
DEFAULT_GROUP_COUNT = 10
DEFAULT_GROUP_MINUTES = 10
DEFAULT_TIMEOUT_SECONDS = 10
DEFAULT_RETRY_SECONDS = 30
DEFAULT_RETRY_MAX_SECONDS = 3600

DEFAULTS = {
    "ALERT_WEBHOOK_URL": None,
    "ALERT_WEBHOOK_FORMAT": DEFAULT_WEBHOOK_FORMAT,
    "ALERT_SMTP_URL": None,
    "ALERT_EMAIL_TO": (),
    "ALERT_EMAIL_FROM": DEFAULT_EMAIL_FROM,
    "ALERT_COOLDOWN_SECONDS": DEFAULT_COOLDOWN_SECONDS,
    "ALERT_INTERVAL_SECONDS": DEFAULT_INTERVAL_SECONDS,
    "ALERT_NEW_GROUP": True,
    "ALERT_GROUP_COUNT": DEFAULT_GROUP_COUNT,
    "ALERT_GROUP_MINUTES": DEFAULT_GROUP_MINUTES,
    "ALERT_MAX_AGE_SECONDS": None,  # unset: DLQ_MAX_AGE_SECONDS
    "ALERT_TIMEOUT_SECONDS": DEFAULT_TIMEOUT_SECONDS,
    "ALERT_RETRY_SECONDS": DEFAULT_RETRY_SECONDS,
    "ALERT_RETRY_MAX_SECONDS": DEFAULT_RETRY_MAX_SECONDS,
    "DASHBOARD_URL": None,
}


@dataclass(frozen=True)
class AlertSettings:
    """Validated ALERT_* values (see `.env.example`)."""

    webhook_url: str | None = None
    webhook_format: str = DEFAULT_WEBHOOK_FORMAT
    smtp_url: str | None = None
    email_to: tuple[str, ...] = ()
    email_from: str = DEFAULT_EMAIL_FROM
    cooldown_seconds: int = DEFAULT_COOLDOWN_SECONDS
    interval_seconds: int = DEFAULT_INTERVAL_SECONDS
    new_group: bool = True
    group_count: int = DEFAULT_GROUP_COUNT
    group_minutes: int = DEFAULT_GROUP_MINUTES
    max_age_seconds: int | None = None  # None: DLQ_MAX_AGE_SECONDS
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    retry_seconds: int = DEFAULT_RETRY_SECONDS
    retry_max_seconds: int = DEFAULT_RETRY_MAX_SECONDS
    dashboard_url: str | None = None  # linked from every notification

    def max_age(self, dlq_max_age_seconds: int) -> int:
        """The age the `dlq_oldest_age` rule fires at: ALERT_MAX_AGE_SECONDS, else the DLQ's."""
        return self.max_age_seconds or dlq_max_age_seconds


def parse_alert_settings(source: Source) -> AlertSettings:
    """ALERT_* and DASHBOARD_URL from `source`; raises `ConfigError` naming the variable."""
    read = Reader(source, DEFAULTS)
    smtp_url = read.url("ALERT_SMTP_URL", ("smtp", "smtps"))
    email_to = read.words("ALERT_EMAIL_TO")
    for address in email_to:
        if "@" not in address or any(char.isspace() for char in address):
            raise ConfigError(f"ALERT_EMAIL_TO: {address!r} is not an e-mail address")
    if smtp_url and not email_to:
        raise ConfigError("ALERT_SMTP_URL is set but ALERT_EMAIL_TO is empty: give the recipients' addresses")
    webhook_format = read.choice("ALERT_WEBHOOK_FORMAT", WEBHOOK_FORMATS)
    return AlertSettings(
        webhook_url=read.url("ALERT_WEBHOOK_URL", ("http", "https")),
        webhook_format=webhook_format,
        smtp_url=smtp_url,
        email_to=email_to,
        email_from=read.text("ALERT_EMAIL_FROM"),
        cooldown_seconds=read.whole_number("ALERT_COOLDOWN_SECONDS", minimum=1),
        interval_seconds=read.whole_number("ALERT_INTERVAL_SECONDS", minimum=1),
        new_group=read.boolean("ALERT_NEW_GROUP"),
        group_count=read.whole_number("ALERT_GROUP_COUNT", minimum=1),
        group_minutes=read.whole_number("ALERT_GROUP_MINUTES", minimum=1),
        max_age_seconds=read.optional_whole_number("ALERT_MAX_AGE_SECONDS", minimum=1),
        timeout_seconds=read.whole_number("ALERT_TIMEOUT_SECONDS", minimum=1),
        retry_seconds=read.whole_number("ALERT_RETRY_SECONDS", minimum=0),
        retry_max_seconds=read.whole_number("ALERT_RETRY_MAX_SECONDS", minimum=1),
        dashboard_url=read.url("DASHBOARD_URL", ("http", "https")),
    )
