"""Configuration: read once from `.env` and the environment into a frozen `Settings`.

`.env` supplies defaults and the process environment overrides it. Every value is validated
here; a bad one raises `ConfigError` naming the variable, and nothing else reads `os.environ`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv

from failure_handlers.archive.settings import ArchiveSettings, parse_archive_settings
from failure_handlers.circuit_settings import (
    DEFAULT_CIRCUIT_FAILURE_THRESHOLD,
    DEFAULT_CIRCUIT_RESET_SECONDS,
    DEFAULT_CIRCUIT_WINDOW_SECONDS,
    circuit_settings,
)
from failure_handlers.errors import ConfigError
from failure_handlers.redaction import redact_endpoint, redact_url
from failure_handlers.retry.backoff import DEFAULT_BACKOFF, DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, NO_JITTER, Jitter
from failure_handlers.retry.retry_after import DEFAULT_RETRY_AFTER_MAX
from failure_handlers.retry_config import retry_settings
from failure_handlers.setting_values import whole_number as _whole_number

DEFAULT_RETRY_MAX = 3
DEFAULT_RETRY_INTERVALS = (30, 60, 120)
DEFAULT_JOB_TIMEOUT = 180  # RQ's own default, in seconds
DEFAULT_DLQ_PREFIX = "rq:dlq:"
DEFAULT_DLQ_TTL_SECONDS = 7 * 24 * 3600
DEFAULT_DLQ_MAX_ENTRIES = 10_000
DEFAULT_DLQ_WARN_SIZE = 100
DEFAULT_DLQ_CRIT_SIZE = 1_000
DEFAULT_DLQ_MAX_AGE_SECONDS = 24 * 3600
DEFAULT_REDACT_KEYS = ("password", "token", "secret", "authorization", "api_key")
DEFAULT_METRICS_MAX_LABEL_VALUES = 100
DEFAULT_METRICS_MAX_SERIES = 2_000
DEFAULT_METRICS_TOP_GROUPS = 20
DEFAULT_ALERT_COOLDOWN_SECONDS = 3600
DEFAULT_ALERT_INTERVAL_SECONDS = 60
DEFAULT_ALERT_GROUP_COUNT = 10
DEFAULT_ALERT_GROUP_MINUTES = 10
DEFAULT_ALERT_TIMEOUT_SECONDS = 10
DEFAULT_ALERT_RETRY_SECONDS = 30
DEFAULT_ALERT_RETRY_MAX_SECONDS = 3600
ALERT_WEBHOOK_FORMATS = ("slack", "json")
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
SERIALIZER_ALIASES = ("pickle", "json")
DEFAULT_DASHBOARD_HOST = "127.0.0.1"
DEFAULT_DASHBOARD_PORT = 9181
DEFAULT_DASHBOARD_REFRESH_SECONDS = 10
MIN_API_TOKEN_CHARS = 16

_DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Validated configuration; see `.env.example` for what each field means."""

    redis_url: str | None = None
    retry_max: int = DEFAULT_RETRY_MAX
    retry_intervals: tuple[int, ...] = DEFAULT_RETRY_INTERVALS
    job_timeout: int = DEFAULT_JOB_TIMEOUT
    dlq_prefix: str = DEFAULT_DLQ_PREFIX
    dlq_ttl_seconds: int = DEFAULT_DLQ_TTL_SECONDS
    dlq_max_entries: int = DEFAULT_DLQ_MAX_ENTRIES
    dlq_warn_size: int = DEFAULT_DLQ_WARN_SIZE
    dlq_crit_size: int = DEFAULT_DLQ_CRIT_SIZE
    dlq_max_age_seconds: int = DEFAULT_DLQ_MAX_AGE_SECONDS
    non_retryable_exceptions: frozenset[str] = field(default_factory=frozenset)
    redact_keys: tuple[str, ...] = DEFAULT_REDACT_KEYS
    log_level: str = "INFO"
    log_json: bool = False
    serializer: str = "pickle"  # RQ's job serializer: pickle, json, or a dotted path (rq's -S)
    # The web dashboard (failure_handlers/web). Secrets are left out of repr() so they never reach a log.
    dashboard_auth: tuple[str, str] | None = field(default=None, repr=False)  # Basic user, password
    dashboard_api_token: str | None = field(default=None, repr=False)  # Bearer token for API writes
    dashboard_read_only: bool = False
    dashboard_secret_key: str | None = field(default=None, repr=False)  # signs CSRF tokens and the session
    dashboard_host: str = DEFAULT_DASHBOARD_HOST
    dashboard_port: int = DEFAULT_DASHBOARD_PORT
    dashboard_refresh_seconds: int = DEFAULT_DASHBOARD_REFRESH_SECONDS  # 0 = counts do not refresh
    metrics_max_label_values: int = DEFAULT_METRICS_MAX_LABEL_VALUES
    metrics_max_series: int = DEFAULT_METRICS_MAX_SERIES
    metrics_top_groups: int = DEFAULT_METRICS_TOP_GROUPS
    alert_webhook_url: str | None = None
    alert_webhook_format: str = "slack"
    alert_smtp_url: str | None = None
    alert_email_to: tuple[str, ...] = ()
    alert_email_from: str = "rq-dlq@localhost"
    alert_cooldown_seconds: int = DEFAULT_ALERT_COOLDOWN_SECONDS
    alert_interval_seconds: int = DEFAULT_ALERT_INTERVAL_SECONDS
    alert_new_group: bool = True
    alert_group_count: int = DEFAULT_ALERT_GROUP_COUNT
    alert_group_minutes: int = DEFAULT_ALERT_GROUP_MINUTES
    alert_max_age_seconds: int | None = None  # None: DLQ_MAX_AGE_SECONDS
    alert_timeout_seconds: int = DEFAULT_ALERT_TIMEOUT_SECONDS
    alert_retry_seconds: int = DEFAULT_ALERT_RETRY_SECONDS
    alert_retry_max_seconds: int = DEFAULT_ALERT_RETRY_MAX_SECONDS
    dashboard_url: str | None = None
    # The durable failure archive in SQL (ARCHIVE_*, failure_handlers/archive/settings.py).
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    # --- Retry policy (issue 12; parsed in retry_config.py, README "Retry policy") ---
    retry_backoff: str = DEFAULT_BACKOFF  # fixed (RETRY_INTERVALS) or exponential
    retry_backoff_base: int = DEFAULT_BACKOFF_BASE
    retry_backoff_cap: int = DEFAULT_BACKOFF_CAP
    retry_jitter: Jitter = NO_JITTER
    retry_after_max: int = DEFAULT_RETRY_AFTER_MAX
    permanent_message_patterns: tuple[re.Pattern[str], ...] = ()
    retryable_message_patterns: tuple[re.Pattern[str], ...] = ()
    # --- end of the retry policy block ---
    # Circuit breakers (failure_handlers/circuit_settings.py): defaults of every `circuit(...)`.
    circuit_failure_threshold: int = DEFAULT_CIRCUIT_FAILURE_THRESHOLD
    circuit_window_seconds: int = DEFAULT_CIRCUIT_WINDOW_SECONDS
    circuit_reset_seconds: int = DEFAULT_CIRCUIT_RESET_SECONDS


def parse_settings(values: Mapping[str, str | None]) -> Settings:
    """Build `Settings` from a mapping of variable name to text (pure; raises `ConfigError`)."""

    def get(name: str) -> str | None:
        value = values.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    return Settings(
        redis_url=_redis_url(get("REDIS_URL")),
        retry_max=_whole_number("RETRY_MAX", get("RETRY_MAX"), DEFAULT_RETRY_MAX, minimum=0),
        retry_intervals=_intervals(get("RETRY_INTERVALS")),
        job_timeout=_whole_number("JOB_TIMEOUT", get("JOB_TIMEOUT"), DEFAULT_JOB_TIMEOUT, minimum=1),
        dlq_prefix=_dlq_prefix(get("DLQ_PREFIX")),
        dlq_ttl_seconds=_whole_number("DLQ_TTL_SECONDS", get("DLQ_TTL_SECONDS"), DEFAULT_DLQ_TTL_SECONDS, minimum=1),
        dlq_max_entries=_whole_number("DLQ_MAX_ENTRIES", get("DLQ_MAX_ENTRIES"), DEFAULT_DLQ_MAX_ENTRIES, minimum=1),
        dlq_warn_size=_whole_number("DLQ_WARN_SIZE", get("DLQ_WARN_SIZE"), DEFAULT_DLQ_WARN_SIZE, minimum=1),
        dlq_crit_size=_whole_number("DLQ_CRIT_SIZE", get("DLQ_CRIT_SIZE"), DEFAULT_DLQ_CRIT_SIZE, minimum=1),
        dlq_max_age_seconds=_whole_number(
            "DLQ_MAX_AGE_SECONDS", get("DLQ_MAX_AGE_SECONDS"), DEFAULT_DLQ_MAX_AGE_SECONDS, minimum=1
        ),
        non_retryable_exceptions=_dotted_names(get("NON_RETRYABLE_EXCEPTIONS")),
        redact_keys=_redact_keys(get("REDACT_KEYS")),
        log_level=_log_level(get("LOG_LEVEL")),
        log_json=_boolean("LOG_JSON", get("LOG_JSON")),
        serializer=_serializer(get("RQ_SERIALIZER")),
        dashboard_auth=_basic_auth(get("DASHBOARD_AUTH")),
        dashboard_api_token=_api_token(get("DASHBOARD_API_TOKEN")),
        dashboard_read_only=_boolean("DASHBOARD_READ_ONLY", get("DASHBOARD_READ_ONLY")),
        dashboard_secret_key=get("DASHBOARD_SECRET_KEY"),
        dashboard_host=get("DASHBOARD_HOST") or DEFAULT_DASHBOARD_HOST,
        dashboard_port=_port(get("DASHBOARD_PORT")),
        dashboard_refresh_seconds=_whole_number(
            "DASHBOARD_REFRESH_SECONDS", get("DASHBOARD_REFRESH_SECONDS"), DEFAULT_DASHBOARD_REFRESH_SECONDS, minimum=0
        ),
        metrics_max_label_values=_whole_number(
            "METRICS_MAX_LABEL_VALUES", get("METRICS_MAX_LABEL_VALUES"), DEFAULT_METRICS_MAX_LABEL_VALUES, minimum=1
        ),
        metrics_max_series=_whole_number(
            "METRICS_MAX_SERIES", get("METRICS_MAX_SERIES"), DEFAULT_METRICS_MAX_SERIES, minimum=1
        ),
        metrics_top_groups=_whole_number(
            "METRICS_TOP_GROUPS", get("METRICS_TOP_GROUPS"), DEFAULT_METRICS_TOP_GROUPS, minimum=1
        ),
        **_alert_settings(get),
        archive=parse_archive_settings(get),
        **retry_settings(get),  # retry policy (issue 12)
        **circuit_settings(get),
    )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read `.env` (found from the working directory up), let the environment override it, validate."""
    dotenv_path = find_dotenv(usecwd=True)
    values: dict[str, str | None] = dict(dotenv_values(dotenv_path)) if dotenv_path else {}
    values.update(os.environ if environ is None else environ)
    return parse_settings(values)


def _redis_url(text: str | None) -> str | None:
    if text is None:
        return None
    scheme = urlsplit(text).scheme
    if scheme not in REDIS_SCHEMES:
        raise ConfigError(f"REDIS_URL={redact_url(text)!r}: expected a redis://, rediss:// or unix:// URL")
    return text


def _intervals(text: str | None) -> tuple[int, ...]:
    if text is None:
        return DEFAULT_RETRY_INTERVALS
    try:
        intervals = tuple(int(part) for part in text.split(","))
    except ValueError:
        intervals = ()
    if not intervals or any(seconds < 0 for seconds in intervals):
        raise ConfigError(f"RETRY_INTERVALS={text!r}: expected comma-separated whole seconds >= 0, e.g. 30,60,120")
    return intervals


def _dlq_prefix(text: str | None) -> str:
    if text is None:
        return DEFAULT_DLQ_PREFIX
    if any(char.isspace() for char in text) or "*" in text:
        raise ConfigError(f"DLQ_PREFIX={text!r}: must not contain spaces or '*'")
    return text


def _dotted_names(text: str | None) -> frozenset[str]:
    if text is None:
        return frozenset()
    names = [part.strip() for part in text.split(",") if part.strip()]
    for name in names:
        if not _DOTTED_NAME.match(name):
            raise ConfigError(
                f"NON_RETRYABLE_EXCEPTIONS: {name!r} is not a dotted class name like 'myapp.errors.BadInput'"
            )
    return frozenset(names)


def _redact_keys(text: str | None) -> tuple[str, ...]:
    if text is None:
        return DEFAULT_REDACT_KEYS
    return tuple(part.strip().lower() for part in text.split(",") if part.strip())


def _log_level(text: str | None) -> str:
    if text is None:
        return "INFO"
    if text.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL={text!r}: expected one of {', '.join(LOG_LEVELS)}")
    return text.upper()


def _serializer(text: str | None) -> str:
    if text is None:
        return "pickle"
    if text in SERIALIZER_ALIASES or _DOTTED_NAME.match(text):
        return text
    raise ConfigError(f"RQ_SERIALIZER={text!r}: expected pickle, json or a dotted path like 'myapp.ser.Msgpack'")


def _boolean(name: str, text: str | None) -> bool:
    if text is None:
        return False
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ConfigError(f"{name}={text!r}: expected true or false")


def _basic_auth(text: str | None) -> tuple[str, str] | None:
    """`user:password` (the password may contain ':'); the error never repeats the value."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ConfigError("DASHBOARD_AUTH: expected user:password, both non-empty (value not shown)")
    return user, password


def _api_token(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) < MIN_API_TOKEN_CHARS or any(char.isspace() for char in text):
        raise ConfigError(
            f"DASHBOARD_API_TOKEN: expected at least {MIN_API_TOKEN_CHARS} characters without spaces (value not shown)"
        )
    return text


def _port(text: str | None) -> int:
    port = _whole_number("DASHBOARD_PORT", text, DEFAULT_DASHBOARD_PORT, minimum=1)
    if port > 65535:
        raise ConfigError(f"DASHBOARD_PORT={text!r}: expected a TCP port, 1-65535")
    return port


def _alert_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """The ALERT_* settings and DASHBOARD_URL (see `.env.example`, README "Alerts")."""
    smtp_url = _url("ALERT_SMTP_URL", get("ALERT_SMTP_URL"), ("smtp", "smtps"))
    email_to = tuple(part.strip() for part in (get("ALERT_EMAIL_TO") or "").split(",") if part.strip())
    for address in email_to:
        if "@" not in address or any(char.isspace() for char in address):
            raise ConfigError(f"ALERT_EMAIL_TO: {address!r} is not an e-mail address")
    if smtp_url and not email_to:
        raise ConfigError("ALERT_SMTP_URL is set but ALERT_EMAIL_TO is empty: give the recipients' addresses")
    webhook_format = (get("ALERT_WEBHOOK_FORMAT") or "slack").lower()
    if webhook_format not in ALERT_WEBHOOK_FORMATS:
        raise ConfigError(f"ALERT_WEBHOOK_FORMAT={webhook_format!r}: expected slack or json")
    max_age = get("ALERT_MAX_AGE_SECONDS")

    def number(name: str, default: int, minimum: int = 1) -> int:
        return _whole_number(name, get(name), default, minimum=minimum)

    return {
        "alert_webhook_url": _url("ALERT_WEBHOOK_URL", get("ALERT_WEBHOOK_URL"), ("http", "https")),
        "alert_webhook_format": webhook_format,
        "alert_smtp_url": smtp_url,
        "alert_email_to": email_to,
        "alert_email_from": get("ALERT_EMAIL_FROM") or "rq-dlq@localhost",
        "alert_cooldown_seconds": number("ALERT_COOLDOWN_SECONDS", DEFAULT_ALERT_COOLDOWN_SECONDS),
        "alert_interval_seconds": number("ALERT_INTERVAL_SECONDS", DEFAULT_ALERT_INTERVAL_SECONDS),
        "alert_new_group": _boolean("ALERT_NEW_GROUP", get("ALERT_NEW_GROUP") or "true"),
        "alert_group_count": number("ALERT_GROUP_COUNT", DEFAULT_ALERT_GROUP_COUNT),
        "alert_group_minutes": number("ALERT_GROUP_MINUTES", DEFAULT_ALERT_GROUP_MINUTES),
        "alert_max_age_seconds": None if max_age is None else number("ALERT_MAX_AGE_SECONDS", 0),
        "alert_timeout_seconds": number("ALERT_TIMEOUT_SECONDS", DEFAULT_ALERT_TIMEOUT_SECONDS),
        "alert_retry_seconds": number("ALERT_RETRY_SECONDS", DEFAULT_ALERT_RETRY_SECONDS, minimum=0),
        "alert_retry_max_seconds": number("ALERT_RETRY_MAX_SECONDS", DEFAULT_ALERT_RETRY_MAX_SECONDS),
        "dashboard_url": _url("DASHBOARD_URL", get("DASHBOARD_URL"), ("http", "https")),
    }


def _url(name: str, text: str | None, schemes: tuple[str, ...]) -> str | None:
    if text is None:
        return None
    try:
        parts = urlsplit(text)
        valid = parts.scheme in schemes and bool(parts.hostname)
    except ValueError:
        valid = False
    if not valid:
        shown = " or ".join(f"{scheme}://" for scheme in schemes)
        raise ConfigError(f"{name}={redact_endpoint(text)!r}: expected a {shown} URL with a host")
    return text
