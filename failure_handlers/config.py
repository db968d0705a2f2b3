"""Configuration: read once from `.env` and the environment into a frozen `Settings`.

`.env` supplies defaults and the process environment overrides it. Every value is validated
here; a bad one raises `ConfigError` naming the variable, and nothing else reads `os.environ`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dotenv import dotenv_values, find_dotenv

from failure_handlers.errors import ConfigError
from failure_handlers.redaction import redact_url

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
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")
REDIS_SCHEMES = ("redis", "rediss", "unix")
SERIALIZER_ALIASES = ("pickle", "json")

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
    metrics_max_label_values: int = DEFAULT_METRICS_MAX_LABEL_VALUES
    metrics_max_series: int = DEFAULT_METRICS_MAX_SERIES
    metrics_top_groups: int = DEFAULT_METRICS_TOP_GROUPS


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
        metrics_max_label_values=_whole_number(
            "METRICS_MAX_LABEL_VALUES", get("METRICS_MAX_LABEL_VALUES"), DEFAULT_METRICS_MAX_LABEL_VALUES, minimum=1
        ),
        metrics_max_series=_whole_number(
            "METRICS_MAX_SERIES", get("METRICS_MAX_SERIES"), DEFAULT_METRICS_MAX_SERIES, minimum=1
        ),
        metrics_top_groups=_whole_number(
            "METRICS_TOP_GROUPS", get("METRICS_TOP_GROUPS"), DEFAULT_METRICS_TOP_GROUPS, minimum=1
        ),
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


def _whole_number(name: str, text: str | None, default: int, minimum: int) -> int:
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: expected a whole number >= {minimum}") from None
    if number < minimum:
        raise ConfigError(f"{name}={text!r}: expected a whole number >= {minimum}")
    return number


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
