"""Writes to `failed_jobs`: idempotent upserts of a batch of events in one transaction, the
expiry of rows whose DLQ entry is gone, and retention.

Exactly-once rows from at-least-once events: a row is keyed by its dead-lettering's id
(`dead_letter_id`, made by the DLQ's write script), and every event carries its number in the
stream (`event_seq`). A `dead` event inserts the row or refreshes its fields if it is newer than the
`dead` event they came from (`entry_seq`: a job recorded again is the same dead-lettering, and the
DLQ's merged entry, with the first real cause, comes last); an outcome changes the row only if it is
newer than what the row already holds. Replaying a batch (an archiver killed
after its commit, before its XACK) therefore changes nothing, and a late batch claimed from a dead
archiver cannot overwrite a newer outcome. INSERT ... ON CONFLICT through SQLAlchemy's SQLite and
PostgreSQL dialects: one statement per run of same-kind events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import Engine, bindparam, case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from failure_handlers.archive.events import Event
from failure_handlers.archive.rows import audit_row, dead_row, outcome_row
from failure_handlers.archive.schema import audit, failed_jobs

RETENTION_BATCH = 1_000  # rows deleted per transaction: short locks on a busy table
_CONTENT = (
    "job_id", "func", "queue", "exc_type", "message", "traceback", "attempts", "max_retries", "reason",
    "fingerprint", "origin", "args", "kwargs", "enqueued_at", "failed_at", "worker", "duplicated_runs", "events",
    "entry_seq",
)  # fmt: skip


@dataclass(frozen=True)
class OpenRow:
    id: int
    dead_letter_id: str
    job_id: str
    failed_at: datetime


class ArchiveStore:
    """`failed_jobs` on one engine (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def write(self, events: Sequence[Event]) -> int:
        """Apply `events` in their stream order, in one transaction; returns rows written or touched."""
        now = datetime.now(UTC)
        ordered = sorted((event for event in events if event.archive_id), key=lambda event: event.seq)
        written = 0
        with self.engine.begin() as connection:
            for kind, run in groupby(ordered, key=lambda event: event.kind):
                batch = list(run)
                if kind == "dead":
                    connection.execute(self._dead_statement(), [dead_row(event, now) for event in batch])
                elif kind == "audit":  # an operator action: its own table, written once (a replay changes nothing)
                    statement = self._insert(audit).on_conflict_do_nothing(index_elements=[audit.c.audit_id])
                    connection.execute(statement, [audit_row(event, now) for event in batch])
                else:
                    connection.execute(self._outcome_statement(), [outcome_row(event, now) for event in batch])
                written += len(batch)
        return written

    def _dead_statement(self) -> Any:
        statement = self._insert(failed_jobs)
        new, row = statement.excluded, failed_jobs.c
        newer = new.event_seq > row.event_seq
        fresher = new.entry_seq > row.entry_seq  # a late batch's older `dead` event keeps the newer entry
        changes: dict[str, Any] = {name: case((fresher, new[name]), else_=row[name]) for name in _CONTENT}
        for name in ("outcome", "outcome_at", "outcome_by", "event_seq"):
            changes[name] = case((newer, new[name]), else_=row[name])
        changes["archived_at"] = new.archived_at
        return statement.on_conflict_do_update(index_elements=[row.dead_letter_id], set_=changes)

    def _outcome_statement(self) -> Any:
        statement = self._insert(failed_jobs)
        new, row = statement.excluded, failed_jobs.c
        changes = {name: new[name] for name in ("outcome", "outcome_at", "outcome_by", "event_seq", "archived_at")}
        return statement.on_conflict_do_update(
            index_elements=[row.dead_letter_id], set_=changes, where=new.event_seq > row.event_seq
        )

    def open_rows(self, after_id: int, limit: int) -> list[OpenRow]:
        """Rows still `open`, by id, after `after_id`: the expiry sweep's pages."""
        query = (
            select(failed_jobs.c.id, failed_jobs.c.dead_letter_id, failed_jobs.c.job_id, failed_jobs.c.failed_at)
            .where(failed_jobs.c.outcome == "open", failed_jobs.c.id > after_id)
            .order_by(failed_jobs.c.id)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [OpenRow(*row) for row in connection.execute(query)]

    def mark_expired(self, changes: Iterable[tuple[str, datetime, str]]) -> int:
        """`(dead_letter_id, when, why)`: rows still `open` become `expired`. The row's `event_seq`
        stays, so an outcome event still on its way (a delete the archiver has not read yet) wins."""
        marked = 0
        statement = (
            update(failed_jobs)
            .where(failed_jobs.c.dead_letter_id == _param("key"), failed_jobs.c.outcome == "open")
            .values(outcome="expired", outcome_at=_param("when"), outcome_by=_param("why"))
        )
        rows = [{"key": key, "when": when, "why": why} for key, when, why in changes]
        if rows:
            with self.engine.begin() as connection:
                result = connection.execute(statement, rows).rowcount
            marked = result if result >= 0 else len(rows)
        return marked

    def apply_retention(self, days: int, now: datetime | None = None) -> int:
        """Delete rows that failed more than `days` ago, RETENTION_BATCH per transaction."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        old = select(failed_jobs.c.id).where(failed_jobs.c.failed_at < cutoff).limit(RETENTION_BATCH)
        deleted = 0
        while True:
            with self.engine.begin() as connection:
                count = connection.execute(delete(failed_jobs).where(failed_jobs.c.id.in_(old))).rowcount
            deleted += count
            if count < RETENTION_BATCH:
                return deleted


def _param(name: str) -> Any:
    return bindparam(name)
