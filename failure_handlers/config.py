"""Configuration: read once from `.env` and the environment into a frozen `Settings`.

`.env` supplies defaults and the process environment overrides it. Each subsystem parses its own
variables in its `settings.py` (through `settings_reader`) into a small frozen dataclass, and
receives only that slice; `Settings` composes them and keeps itself only what the whole process
shares: the Redis URL, RQ's serializer, logging, and the keys redacted in job arguments (used by
enqueue, the failure handler and the reconciler alike). A bad value raises `ConfigError` naming the
variable, and nothing else reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv

from failure_handlers.alerts.settings import DEFAULTS as ALERT_DEFAULTS
from failure_handlers.alerts.settings import AlertSettings, parse_alert_settings
from failure_handlers.archive.settings import DEFAULTS as ARCHIVE_DEFAULTS
from failure_handlers.archive.settings import ArchiveSettings, parse_archive_settings
from failure_handlers.audit.settings import DEFAULTS as AUDIT_DEFAULTS
from failure_handlers.audit.settings import AuditSettings, parse_audit_settings
from failure_handlers.circuits.settings import DEFAULTS as CIRCUIT_DEFAULTS
from failure_handlers.circuits.settings import CircuitSettings, parse_circuit_settings
from failure_handlers.dlq.settings import DEFAULTS as DLQ_DEFAULTS
from failure_handlers.dlq.settings import DlqSettings, parse_dlq_settings
from failure_handlers.errors import ConfigError
from failure_handlers.metrics.settings import DEFAULTS as METRICS_DEFAULTS
from failure_handlers.metrics.settings import MetricsSettings, parse_metrics_settings
from failure_handlers.redaction import redact_url
from failure_handlers.retry.settings import DEFAULTS as RETRY_DEFAULTS
from failure_handlers.retry.settings import RetrySettings, parse_retry_settings
from failure_handlers.sentinel_url import CLUSTER_UNSUPPORTED, is_cluster_url, is_sentinel_url, parse_sentinel_url
from failure_handlers.settings_reader import DOTTED_NAME, Reader, Source, source_of
from failure_handlers.telemetry.settings import DEFAULTS as TELEMETRY_DEFAULTS
from failure_handlers.telemetry.settings import TelemetrySettings, parse_telemetry_settings
from failure_handlers.web.settings import DEFAULTS as DASHBOARD_DEFAULTS
from failure_handlers.web.settings import DashboardSettings, parse_dashboard_settings

DEFAULT_REDIS_URL = "redis://localhost:6379/0"  # what an unset REDIS_URL connects to
DEFAULT_REDACT_KEYS = ("password", "token", "secret", "authorization", "api_key")
DEFAULT_LOG_LEVEL = "INFO"
DEFAULT_SERIALIZER = "pickle"
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
SERIALIZER_ALIASES = ("pickle", "json")

PROCESS_DEFAULTS: dict[str, Any] = {
    # Unset, `redis_url` stays None (the connection then uses this default; the demo starts an
    # embedded server): the table shows what an unset REDIS_URL means.
    "REDIS_URL": DEFAULT_REDIS_URL,
    "REDACT_KEYS": DEFAULT_REDACT_KEYS,
    "LOG_LEVEL": DEFAULT_LOG_LEVEL,
    "LOG_JSON": False,
    "RQ_SERIALIZER": DEFAULT_SERIALIZER,
}

VARIABLES: dict[str, Any] = {
    **PROCESS_DEFAULTS,
    **RETRY_DEFAULTS,
    **DLQ_DEFAULTS,
    **DASHBOARD_DEFAULTS,
    **METRICS_DEFAULTS,
    **ALERT_DEFAULTS,
    **ARCHIVE_DEFAULTS,
    **AUDIT_DEFAULTS,
    **CIRCUIT_DEFAULTS,
    **TELEMETRY_DEFAULTS,
}
"""Every variable the configuration reads, with its default (README "Configuration", `.env.example`)."""


@dataclass(frozen=True)
class Settings:
    """Validated configuration: the process-wide values, and one slice per subsystem.

    Only the process-wide values live here (Redis, RQ's serializer, logging, redaction); everything
    else is in its subsystem's slice, which is all that subsystem receives.
    """

    redis_url: str | None = None  # None: DEFAULT_REDIS_URL
    serializer: str = DEFAULT_SERIALIZER  # RQ's job serializer: pickle, json, or a dotted path (rq's -S)
    log_level: str = DEFAULT_LOG_LEVEL
    log_json: bool = False
    redact_keys: tuple[str, ...] = DEFAULT_REDACT_KEYS  # keyword arguments stored and logged as ***
    retry: RetrySettings = field(default_factory=RetrySettings)  # failure_handlers/retry/settings.py
    dlq: DlqSettings = field(default_factory=DlqSettings)  # failure_handlers/dlq/settings.py
    circuits: CircuitSettings = field(default_factory=CircuitSettings)  # failure_handlers/circuits/settings.py
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)  # failure_handlers/archive/settings.py
    audit: AuditSettings = field(default_factory=AuditSettings)  # failure_handlers/audit/settings.py
    alerts: AlertSettings = field(default_factory=AlertSettings)  # failure_handlers/alerts/settings.py
    metrics: MetricsSettings = field(default_factory=MetricsSettings)  # failure_handlers/metrics/settings.py
    dashboard: DashboardSettings = field(default_factory=DashboardSettings)  # failure_handlers/web/settings.py
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)  # failure_handlers/telemetry/settings.py


def parse_settings(values: Mapping[str, str | None]) -> Settings:
    """Build `Settings` from a mapping of variable name to text (pure; raises `ConfigError`)."""
    return read_settings(source_of(values))


def read_settings(source: Source) -> Settings:
    """Build `Settings` from `source` (name -> stripped text or None)."""
    read = Reader(source, PROCESS_DEFAULTS)
    return Settings(
        redis_url=_redis_url(read.given("REDIS_URL")),
        serializer=_serializer(read.text("RQ_SERIALIZER")),
        log_level=_log_level(read.text("LOG_LEVEL")),
        log_json=read.boolean("LOG_JSON"),
        redact_keys=tuple(key.lower() for key in read.words("REDACT_KEYS")),
        retry=parse_retry_settings(source),
        dlq=parse_dlq_settings(source),
        circuits=parse_circuit_settings(source),
        archive=parse_archive_settings(source),
        audit=parse_audit_settings(source),
        alerts=parse_alert_settings(source),
        metrics=parse_metrics_settings(source),
        dashboard=parse_dashboard_settings(source),
        telemetry=parse_telemetry_settings(source),
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
    if is_cluster_url(text):
        raise ConfigError(f"REDIS_URL={redact_url(text)!r}: {CLUSTER_UNSUPPORTED}")
    if is_sentinel_url(text):
        try:
            parse_sentinel_url(text)
        except ValueError as error:
            raise ConfigError(f"REDIS_URL={redact_url(text)!r}: {error}") from None
        return text
    scheme = urlsplit(text).scheme
    if scheme not in REDIS_SCHEMES:
        raise ConfigError(
            f"REDIS_URL={redact_url(text)!r}: expected a redis://, rediss://, unix:// or redis+sentinel:// URL"
        )
    return text


def _log_level(text: str) -> str:
    if text.upper() not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL={text!r}: expected one of {', '.join(LOG_LEVELS)}")
    return text.upper()


def _serializer(text: str) -> str:
    if text in SERIALIZER_ALIASES or DOTTED_NAME.match(text):
        return text
    raise ConfigError(f"RQ_SERIALIZER={text!r}: expected pickle, json or a dotted path like 'myapp.ser.Msgpack'")
