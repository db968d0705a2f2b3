"""The archiver: the stream's events into `failed_jobs`, then the expiry sweep and retention.

One batch: take the pending events of a dead archiver (XAUTOCLAIM, idle longer than
ARCHIVE_CLAIM_IDLE_SECONDS) or new ones (XREADGROUP), write them in one transaction, XACK after
the commit. A database that is down or refuses us: one log line (URL redacted), back off, retry
the same batch; nothing is acknowledged, so nothing is lost from Redis.
`rq-dlq archive run` is `run_forever`; `--once` is `drain` plus one sweep and retention pass.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from failure_handlers.archive.database import ArchiveUnavailable, check_schema, describe_error
from failure_handlers.archive.events import Event, EventStream
from failure_handlers.archive.store import ArchiveStore
from failure_handlers.config import Settings
from failure_handlers.redaction import redact_url
from failure_handlers.storage.keys import ENTRY_ARCHIVE_ID, DlqKeys

SWEEP_PAGE = 500
MAX_BACKOFF_SECONDS = 30.0


@dataclass
class ArchiveReport:
    batches: int = 0
    events: int = 0
    expired: int = 0
    retention_deleted: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"archived {self.events} events in {self.batches} batches, marked {self.expired} expired, "
            f"deleted {self.retention_deleted} past retention ({self.seconds:.2f} s)"
        )


class Archiver:
    """Moves the archive's events from Redis into SQL for one DLQ prefix."""

    def __init__(self, connection: Redis, settings: Settings, engine: Engine, consumer: str | None = None) -> None:
        self.connection = connection
        self.settings = settings
        self.archive = settings.archive
        self.engine = engine
        self.store = ArchiveStore(engine)
        self.stream = EventStream(connection, settings.dlq.prefix, consumer)
        self.keys = DlqKeys(settings.dlq.prefix)
        self._last_sweep = 0.0

    # -- one batch ------------------------------------------------------------------------------

    def next_batch(self, claim_idle: float | None = None) -> list[Event]:
        """A dead archiver's pending events first (oldest), else new ones."""
        size = self.archive.batch_size
        idle = self.archive.claim_idle_seconds if claim_idle is None else claim_idle
        events = self.stream.claim_stale(idle, size)
        if len(events) < size:
            events += self.stream.read_new(size - len(events))
        return events

    def commit(self, events: list[Event]) -> int:
        """Write `events` in one transaction, then acknowledge them. Raises `ArchiveUnavailable`
        (nothing acknowledged) when the database fails."""
        try:
            rows = self.store.write(events)
        except SQLAlchemyError as error:
            raise ArchiveUnavailable(describe_error(error, self.archive)) from None
        self.stream.ack(events, rows)
        return rows

    def drain(self, report: ArchiveReport | None = None, claim_idle: float | None = None) -> ArchiveReport:
        """Batches until the stream has nothing new (and no stale pending events) for us."""
        report = report or ArchiveReport()
        started = time.monotonic()
        self.stream.ensure_group()
        while events := self.next_batch(claim_idle):
            self.commit(events)
            report.batches += 1
            report.events += len(events)
        report.seconds += time.monotonic() - started
        return report

    # -- upkeep ---------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Rows still `open` whose DLQ entry is gone (expired by DLQ_TTL_SECONDS, or removed outside
        rq-dlq) become `expired`: one pipelined round trip per SWEEP_PAGE rows."""
        now = datetime.now(UTC)
        ttl = timedelta(seconds=self.settings.dlq.ttl_seconds)
        after, marked = 0, 0
        while rows := self.store.open_rows(after, SWEEP_PAGE):
            with self.connection.pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.hget(self.keys.entry(row.job_id), ENTRY_ARCHIVE_ID)
                current = pipe.execute()
            gone = []
            for row, archive_id in zip(rows, current, strict=True):
                if archive_id is not None and archive_id.decode(errors="replace") == row.dead_letter_id:
                    continue
                failed_at = row.failed_at if row.failed_at.tzinfo else row.failed_at.replace(tzinfo=UTC)
                if failed_at + ttl <= now:
                    gone.append((row.dead_letter_id, failed_at + ttl, "DLQ_TTL_SECONDS"))
                else:
                    gone.append((row.dead_letter_id, now, "gone from the DLQ before its TTL (outside rq-dlq)"))
            marked += self.store.mark_expired(gone)
            after = rows[-1].id
        self.stream.note(last_sweep_at=time.time())
        return marked

    def upkeep(self, report: ArchiveReport) -> None:
        """The expiry sweep and retention, each in small batches."""
        report.expired += self.sweep()
        report.retention_deleted += self.store.apply_retention(self.archive.retention_days)
        try:
            self.stream.forget_idle_consumers()
        except RedisError as error:
            logger.debug("could not tidy the archiver's consumer group: {}", error)
        self._last_sweep = time.monotonic()

    def run_once(self) -> ArchiveReport:
        """`rq-dlq archive run --once`: drain, sweep, retention. Raises on a database error.

        Every pending event is taken at once, however recent: a run that failed before left its
        events pending under its own consumer name. Should another archiver be mid-batch, its
        events are written twice, which the upserts make harmless."""
        report = self.drain(claim_idle=0)
        try:
            self.upkeep(report)
        except SQLAlchemyError as error:
            raise ArchiveUnavailable(describe_error(error, self.archive)) from None
        return report

    # -- the long-running process ---------------------------------------------------------------

    def run_forever(self, stopping: threading.Event | None = None) -> None:
        """Until SIGTERM/SIGINT: batches as events come, the sweep every ARCHIVE_SWEEP_SECONDS;
        a failing database or Redis is retried with backoff, the batch kept pending."""
        if stopping is None:
            stopping = threading.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stopping.set())
        logger.info("Archiver {} started: {} into {}", self.stream.consumer, self.stream.key, self.archive.shown_url)
        if not self.wait_for_database(stopping):
            logger.info("Archiver {} stopped", self.stream.consumer)
            return
        backoff = 0.0
        events: list[Event] = []
        while not stopping.is_set():
            try:
                self.stream.ensure_group()
                events = events or self.next_batch()
                full = len(events) >= self.archive.batch_size
                if events:
                    rows = self.commit(events)
                    logger.debug("archived {} events ({} rows)", len(events), rows)
                    events = []
                if time.monotonic() - self._last_sweep >= self.archive.sweep_seconds:
                    self.upkeep(ArchiveReport())
                backoff = 0.0
                if not full:  # a full batch: more are probably waiting, read again at once
                    stopping.wait(self.archive.poll_seconds)
            except (ArchiveUnavailable, SQLAlchemyError, RedisError) as error:
                backoff = min(MAX_BACKOFF_SECONDS, max(1.0, backoff * 2))
                self._report_failure(error, len(events), backoff)
                stopping.wait(backoff)
        logger.info("Archiver {} stopped", self.stream.consumer)

    def wait_for_database(self, stopping: threading.Event) -> bool:
        """Until the database answers at this code's schema (False if stopped first).

        An archiver started while its database is down (a restart, a failover, a host booting in the
        wrong order) waits for it with the same backoff and log line as one whose database fails
        mid-run, instead of exiting: the events keep waiting in Redis either way. A schema that is
        missing or of another version is not waited out: `SchemaMismatch` (one line, exit 2)."""
        backoff = 0.0
        while not stopping.is_set():
            try:
                check_schema(self.engine, self.archive)
                return True
            except ArchiveUnavailable as error:
                backoff = min(MAX_BACKOFF_SECONDS, max(1.0, backoff * 2))
                self._report_failure(error, self._waiting_events(), backoff)
                stopping.wait(backoff)
        return False

    def _waiting_events(self) -> int:
        try:
            status = self.stream.status()
        except RedisError:
            return 0
        return status.lag + status.pending

    def _report_failure(self, error: Exception, pending: int, backoff: float) -> None:
        if isinstance(error, SQLAlchemyError):
            line = describe_error(error, self.archive)
        elif isinstance(error, RedisError):
            line = f"Redis at {redact_url(self.settings.redis_url)}: {error}"
        else:
            line = str(error)
        logger.warning("Archiver: {}; {} events stay pending in Redis, retrying in {:.0f}s", line, pending, backoff)
        try:
            self.stream.note(last_error=line[:500])
        except RedisError:
            pass
