"""What the archive's commands and web routes share: an engine for ARCHIVE_URL, checked against
this code's schema, and the stream's status. Keeps the CLI and the dashboard thin."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from redis import Redis
from sqlalchemy import Engine

from failure_handlers.archive import database
from failure_handlers.archive.events import EventStream, StreamStatus
from failure_handlers.archive.settings import ArchiveSettings
from failure_handlers.errors import OperatorError


def engine(settings: ArchiveSettings) -> Engine:
    """An engine for ARCHIVE_URL (not yet connected), or one-line `OperatorError` when the archive is off."""
    if not settings.enabled:
        raise OperatorError("the failure archive is off: set ARCHIVE_URL (see docs/archive.md)")
    return database.make_engine(settings)


def checked_engine(settings: ArchiveSettings) -> Engine:
    """An engine on a reachable database at this code's schema revision, or one-line `OperatorError`."""
    checked = engine(settings)
    database.check_schema(checked, settings)
    return checked


@dataclass(frozen=True)
class ArchiveStatus:
    stream: StreamStatus
    database: str  # "ok" or the one-line reason it is not
    schema: str | None  # the database's revision, if reachable

    @property
    def healthy(self) -> bool:
        return self.database == "ok" and self.stream.lost == 0

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self.stream), "database": self.database, "schema": self.schema, "healthy": self.healthy}

    def lines(self, now: float | None = None) -> list[str]:
        now = time.time() if now is None else now
        s = self.stream
        last = f"{now - s.last_batch_at:.0f}s ago ({s.last_batch_rows} rows)" if s.last_batch_at else "never"
        return [
            f"stream: {s.appended} events appended, {s.length} kept, lag {s.lag} (not yet read), "
            f"pending {s.pending} (read, not yet committed), lost {s.lost}"
            + (" (trimmed by ARCHIVE_STREAM_MAXLEN before the archiver read them)" if s.lost else ""),
            f"last batch: {last}" + (f"; last error: {s.last_error}" if s.last_error else ""),
            f"database: {self.database}" + (f" (schema {self.schema})" if self.schema else ""),
        ]


def archive_status(connection: Redis, prefix: str, settings: ArchiveSettings) -> ArchiveStatus:
    stream = EventStream(connection, prefix).status()
    try:
        engine = database.make_engine(settings)
        with database.reporting(settings):
            revision = database.current_revision(engine)
        database.check_schema(engine, settings)
        return ArchiveStatus(stream, "ok", revision)
    except OperatorError as error:
        return ArchiveStatus(stream, str(error), None)
