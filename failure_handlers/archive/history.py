"""Queries over `failed_jobs`: the DLQ's filters plus the outcome, over any time range; statistics.

The same functions serve `rq-dlq history`, the dashboard's History page and `GET /api/history`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.sql import Select

from failure_handlers.archive.outcomes import OUTCOMES
from failure_handlers.archive.schema import failed_jobs
from failure_handlers.dlq.filters import DlqFilter

ROW_COLUMNS = (
    "id",
    "dead_letter_id",
    "job_id",
    "func",
    "queue",
    "exc_type",
    "message",
    "attempts",
    "max_retries",
    "duplicated_runs",
    "events",
    "reason",
    "fingerprint",
    "origin",
    "args",
    "kwargs",
    "enqueued_at",
    "failed_at",
    "worker",
    "outcome",
    "outcome_at",
    "outcome_by",
)  # fmt: skip; the traceback only with `with_traceback`


@dataclass(frozen=True)
class HistoryFilter:
    """The DLQ's filters (`DlqFilter`) plus the outcome and the job id."""

    dlq: DlqFilter = DlqFilter()
    outcome: str | None = None
    job_id: str | None = None

    def __post_init__(self) -> None:
        if self.outcome is not None and self.outcome not in OUTCOMES:
            raise ValueError(f"outcome {self.outcome!r} is not one of {', '.join(OUTCOMES)}")

    def apply(self, query: Select) -> Select:
        c, f = failed_jobs.c, self.dlq
        for column, value in ((c.queue, f.queue), (c.func, f.func), (c.exc_type, f.exc), (c.fingerprint, f.group)):
            if value is not None:
                query = query.where(column == value)
        if f.since is not None:
            query = query.where(c.failed_at >= _utc(f.since))
        if f.until is not None:
            query = query.where(c.failed_at <= _utc(f.until))
        if f.search:  # in the message or the arguments, as the DLQ's `--search`
            needle = f.search.lower()
            query = query.where(
                or_(*(func.lower(column).contains(needle, autoescape=True) for column in (c.message, c.args, c.kwargs)))
            )
        if self.outcome is not None:
            query = query.where(c.outcome == self.outcome)
        if self.job_id is not None:
            query = query.where(c.job_id == self.job_id)
        return query


def rows(
    engine: Engine, filters: HistoryFilter, limit: int = 50, offset: int = 0, with_traceback: bool = False
) -> list[dict[str, Any]]:
    """Matching rows, newest failure first, as JSON-ready dicts (times as ISO 8601 UTC)."""
    names = ROW_COLUMNS + (("traceback",) if with_traceback else ())
    query = filters.apply(select(*[failed_jobs.c[name] for name in names]))
    query = query.order_by(failed_jobs.c.failed_at.desc(), failed_jobs.c.id.desc()).limit(limit).offset(offset)
    with engine.connect() as connection:
        return [_json_ready(dict(row._mapping)) for row in connection.execute(query)]


def count(engine: Engine, filters: HistoryFilter) -> int:
    with engine.connect() as connection:
        return int(connection.execute(filters.apply(select(func.count()).select_from(failed_jobs))).scalar_one())


def by_outcome(engine: Engine, filters: HistoryFilter) -> dict[str, int]:
    """How the matching rows ended: outcome -> rows (only outcomes that occur); their sum is `count`."""
    c = failed_jobs.c
    query = filters.apply(select(c.outcome, func.count()).select_from(failed_jobs)).group_by(c.outcome)
    with engine.connect() as connection:
        return {outcome: int(n) for outcome, n in connection.execute(query)}


def stats(engine: Engine, filters: HistoryFilter, top: int = 10) -> dict[str, Any]:
    """Failures per UTC day, per function and per failure group, each split by outcome."""
    c = failed_jobs.c
    day = func.substr(func.cast(c.failed_at, _text_type()), 1, 10)
    ended = by_outcome(engine, filters)
    result: dict[str, Any] = {"total": sum(ended.values()), "by_outcome": ended, "per_day": [], "per_func": [],
                              "per_group": []}  # fmt: skip
    with engine.connect() as connection:
        per_day = filters.apply(select(day.label("day"), c.outcome, func.count()).select_from(failed_jobs))
        result["per_day"] = _split(connection.execute(per_day.group_by("day", c.outcome).order_by("day")))
        for name, column, extra in (("per_func", c.func, None), ("per_group", c.fingerprint, c.exc_type)):
            top_values = (
                filters.apply(select(column, func.count().label("n")).select_from(failed_jobs))
                .group_by(column)
                .order_by(func.count().desc(), column)
                .limit(top)
            )
            keys = [value for value, _ in connection.execute(top_values)]
            if not keys:
                continue
            split = filters.apply(
                select(column, c.outcome, func.count()).select_from(failed_jobs).where(column.in_(keys))
            ).group_by(column, c.outcome)
            table = {row["key"]: row for row in _split(connection.execute(split))}
            if extra is not None:
                samples = select(column, func.max(extra)).where(column.in_(keys)).group_by(column)
                for key, sample in connection.execute(samples):
                    table[key]["exc_type"] = sample
            result[name] = [table[key] for key in keys]
    return result


def _split(rows: Any) -> list[dict[str, Any]]:
    """(key, outcome, n) rows to [{"key": key, "total": n, "open": n, ...}] in first-seen order."""
    table: dict[Any, dict[str, Any]] = {}
    for key, outcome, n in rows:
        entry = table.setdefault(key, {"key": key, "total": 0})
        entry[outcome] = entry.get(outcome, 0) + n
        entry["total"] += n
    return list(table.values())


def _text_type() -> Any:
    from sqlalchemy import String

    return String()


def _utc(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _json_ready(row: dict[str, Any]) -> dict[str, Any]:
    for name, value in row.items():
        if isinstance(value, datetime):
            row[name] = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    return row
