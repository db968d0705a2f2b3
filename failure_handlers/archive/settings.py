"""The ARCHIVE_* settings: the durable failure archive in SQL (docs/archive.md). Pure code.

Free of SQLAlchemy: the workers read these settings on every failure and only need to know whether
to append to the stream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from failure_handlers.errors import ConfigError
from failure_handlers.redaction import redact_url
from failure_handlers.settings_reader import Reader, Source

DEFAULT_RETENTION_DAYS = 30
DEFAULT_STREAM_MAXLEN = 100_000
DEFAULT_BATCH_SIZE = 500
DEFAULT_CLAIM_IDLE_SECONDS = 60
DEFAULT_POLL_SECONDS = 1
DEFAULT_SWEEP_SECONDS = 60
MIN_STREAM_MAXLEN = 100  # MAXLEN ~ trims whole nodes of 100 entries: a smaller bound means nothing
POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")

DEFAULTS = {
    "ARCHIVE_URL": None,  # the archive is off
    "ARCHIVE_RETENTION_DAYS": DEFAULT_RETENTION_DAYS,
    "ARCHIVE_STREAM_MAXLEN": DEFAULT_STREAM_MAXLEN,
    "ARCHIVE_BATCH_SIZE": DEFAULT_BATCH_SIZE,
    "ARCHIVE_CLAIM_IDLE_SECONDS": DEFAULT_CLAIM_IDLE_SECONDS,
    "ARCHIVE_POLL_SECONDS": DEFAULT_POLL_SECONDS,
    "ARCHIVE_SWEEP_SECONDS": DEFAULT_SWEEP_SECONDS,
}


@dataclass(frozen=True)
class ArchiveSettings:
    """Validated ARCHIVE_* values; `url` None means the archive is off (no stream, no archiver)."""

    url: str | None = field(default=None, repr=False)  # SQLAlchemy URL; may hold a password
    retention_days: int = DEFAULT_RETENTION_DAYS
    stream_maxlen: int = DEFAULT_STREAM_MAXLEN
    batch_size: int = DEFAULT_BATCH_SIZE
    claim_idle_seconds: int = DEFAULT_CLAIM_IDLE_SECONDS
    poll_seconds: float = DEFAULT_POLL_SECONDS
    sweep_seconds: int = DEFAULT_SWEEP_SECONDS

    @property
    def enabled(self) -> bool:
        return self.url is not None

    @property
    def shown_url(self) -> str:
        """The URL with its password as `***`: the only form that may reach a log or a message."""
        return redact_url(self.url)

    @property
    def stream_bound(self) -> int:
        """What the DLQ's write scripts get: the stream's MAXLEN, or 0 (archive off: no XADD)."""
        return self.stream_maxlen if self.enabled else 0


def parse_archive_settings(source: Source) -> ArchiveSettings:
    """ARCHIVE_* from `source`; raises `ConfigError` naming the variable."""
    read = Reader(source, DEFAULTS)
    return ArchiveSettings(
        url=archive_url(read.given("ARCHIVE_URL")),
        retention_days=read.whole_number("ARCHIVE_RETENTION_DAYS", minimum=1),
        stream_maxlen=read.whole_number("ARCHIVE_STREAM_MAXLEN", minimum=MIN_STREAM_MAXLEN),
        batch_size=read.whole_number("ARCHIVE_BATCH_SIZE", minimum=1),
        claim_idle_seconds=read.whole_number("ARCHIVE_CLAIM_IDLE_SECONDS", minimum=0),
        poll_seconds=read.whole_number("ARCHIVE_POLL_SECONDS", minimum=1),
        sweep_seconds=read.whole_number("ARCHIVE_SWEEP_SECONDS", minimum=1),
    )


def archive_url(text: str | None) -> str | None:
    """`sqlite:///path` or `postgresql://...` (made `postgresql+psycopg://`, the psycopg 3 driver)."""
    if text is None:
        return None
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        if scheme in POSTGRES_SCHEMES and (parts.hostname or parts.path not in ("", "/")):
            return urlunsplit(("postgresql+psycopg", *parts[1:]))
        if scheme == "sqlite" and parts.path not in ("", "/"):
            return text
    except ValueError:
        pass
    raise ConfigError(
        f"ARCHIVE_URL={redact_url(text)!r}: expected sqlite:///path/to/archive.db or postgresql://user@host/db"
    )
