"""The DLQ_* settings: where the dead-letter queue lives in Redis, how long and how much it keeps,
and the thresholds of `rq-dlq check` and the size/age alerts. Pure code."""

from __future__ import annotations

from dataclasses import dataclass

from failure_handlers.errors import ConfigError
from failure_handlers.settings_reader import Reader, Source

DEFAULT_PREFIX = "rq:dlq:"
DEFAULT_TTL_SECONDS = 7 * 24 * 3600
DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_WARN_SIZE = 100
DEFAULT_CRIT_SIZE = 1_000
DEFAULT_MAX_AGE_SECONDS = 24 * 3600
DEFAULT_WAIT_REPLICAS = 0
DEFAULT_WAIT_TIMEOUT_MS = 1_000

DEFAULTS = {
    "DLQ_PREFIX": DEFAULT_PREFIX,
    "DLQ_TTL_SECONDS": DEFAULT_TTL_SECONDS,
    "DLQ_MAX_ENTRIES": DEFAULT_MAX_ENTRIES,
    "DLQ_WARN_SIZE": DEFAULT_WARN_SIZE,
    "DLQ_CRIT_SIZE": DEFAULT_CRIT_SIZE,
    "DLQ_MAX_AGE_SECONDS": DEFAULT_MAX_AGE_SECONDS,
    "DLQ_WAIT_REPLICAS": DEFAULT_WAIT_REPLICAS,
    "DLQ_WAIT_TIMEOUT_MS": DEFAULT_WAIT_TIMEOUT_MS,
}


@dataclass(frozen=True)
class DlqSettings:
    """Validated DLQ_* values."""

    prefix: str = DEFAULT_PREFIX  # of every key we own: <prefix>entry:<job_id>, <prefix>index, ...
    ttl_seconds: int = DEFAULT_TTL_SECONDS
    max_entries: int = DEFAULT_MAX_ENTRIES  # the oldest are dropped, and counted, past this
    warn_size: int = DEFAULT_WARN_SIZE  # `rq-dlq check` and the size alerts
    crit_size: int = DEFAULT_CRIT_SIZE
    max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS  # `rq-dlq check`; the age alert unless ALERT_MAX_AGE_SECONDS
    # > 0: the failure handler's DLQ write ends with `WAIT wait_replicas wait_timeout_ms`, in the same
    # round trip, so an entry it reports written is on that many replicas (or a warning says it is not)
    wait_replicas: int = DEFAULT_WAIT_REPLICAS
    wait_timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS


def parse_dlq_settings(source: Source) -> DlqSettings:
    """DLQ_* from `source`; raises `ConfigError` naming the variable."""
    read = Reader(source, DEFAULTS)
    return DlqSettings(
        prefix=_prefix(read.text("DLQ_PREFIX")),
        ttl_seconds=read.whole_number("DLQ_TTL_SECONDS", minimum=1),
        max_entries=read.whole_number("DLQ_MAX_ENTRIES", minimum=1),
        warn_size=read.whole_number("DLQ_WARN_SIZE", minimum=1),
        crit_size=read.whole_number("DLQ_CRIT_SIZE", minimum=1),
        max_age_seconds=read.whole_number("DLQ_MAX_AGE_SECONDS", minimum=1),
        wait_replicas=read.whole_number("DLQ_WAIT_REPLICAS", minimum=0),
        # WAIT with timeout 0 blocks for ever: a handler must not hang on a replica that is gone
        wait_timeout_ms=read.whole_number("DLQ_WAIT_TIMEOUT_MS", minimum=1),
    )


def _prefix(text: str) -> str:
    if any(char.isspace() for char in text) or "*" in text:
        raise ConfigError(f"DLQ_PREFIX={text!r}: must not contain spaces or '*'")
    return text
