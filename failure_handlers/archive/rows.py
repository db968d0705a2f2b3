"""Events to `failed_jobs` rows: every text bounded and storable. Pure code.

An event is hostile input (a job's message, a hand-written stream entry): each text column is cut
to its limit (`schema.LIMITS`) with a visible mark, NUL characters (PostgreSQL refuses them in text)
and undecodable bytes become U+FFFD, and a garbled time or number becomes a safe default.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from failure_handlers.archive.events import Event
from failure_handlers.archive.outcomes import OUTCOMES
from failure_handlers.archive.schema import AUDIT_LIMITS, LIMITS

CUT_MARK = "…[cut by the failure archive]"


def bounded(value: Any, limit: int) -> str:
    """`value` as text of at most `limit` characters; a cut one ends with CUT_MARK."""
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    if len(text) <= limit:
        return text
    return text[: max(0, limit - len(CUT_MARK))] + CUT_MARK


def moment(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO text or epoch seconds; None if there is none."""
    if value in (None, ""):
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), UTC)
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _whole(value: Any) -> int:
    try:
        return max(-(2**31), min(2**31 - 1, int(value)))
    except (TypeError, ValueError):
        return 0


def dead_row(event: Event, now: datetime) -> dict[str, Any]:
    """The row of a dead-lettering, `open` (store.py keeps a later outcome already applied)."""
    entry = event.entry
    text = {name: bounded(entry.get(source, ""), LIMITS[name]) for name, source in _TEXT_FIELDS.items()}
    failed_at = moment(entry.get("failed_at")) or (moment(event.at) if event.at > 0 else None) or now
    return {
        "dead_letter_id": bounded(event.archive_id, LIMITS["dead_letter_id"]),
        "job_id": bounded(event.job_id or entry.get("job_id", ""), LIMITS["job_id"]),
        **text,
        "args": bounded(entry.get("args") or "[]", LIMITS["args"]),
        "kwargs": bounded(entry.get("kwargs") or "{}", LIMITS["kwargs"]),
        "attempts": _whole(entry.get("attempts")),
        "max_retries": _whole(entry.get("max_retries")),
        "duplicated_runs": _whole(entry.get("duplicated_runs")),
        "events": bounded(entry.get("events") or "[]", LIMITS["events"]),
        "enqueued_at": moment(entry.get("enqueued_at")),
        "failed_at": failed_at,
        "outcome": "open",
        "outcome_at": None,
        "outcome_by": "",
        "event_seq": event.seq,
        "entry_seq": event.seq,
        "archived_at": now,
    }


def outcome_row(event: Event, now: datetime) -> dict[str, Any]:
    """An outcome as a row: applied to the dead-lettering's row, or a placeholder that its `dead`
    event fills in when events arrive out of order (a dead archiver's batch claimed late)."""
    at = (moment(event.at) if event.at > 0 else None) or now
    return {
        "dead_letter_id": bounded(event.archive_id, LIMITS["dead_letter_id"]),
        "job_id": bounded(event.job_id, LIMITS["job_id"]),
        "failed_at": at,
        "outcome": event.outcome if event.outcome in OUTCOMES else "open",
        "outcome_at": at,
        "outcome_by": bounded(event.by, LIMITS["outcome_by"]),
        "event_seq": event.seq,
        "archived_at": now,
    }


def audit_row(event: Event, now: datetime) -> dict[str, Any]:
    """An operator action (the audit log's record) as a row of `audit`."""
    record = event.record
    ids = record.get("ids")
    texts = {name: bounded(record.get(name, ""), limit) for name, limit in AUDIT_LIMITS.items() if name != "audit_id"}
    return {
        "audit_id": bounded(event.archive_id, AUDIT_LIMITS["audit_id"]),
        "at": moment(record.get("at")) or (moment(event.at) if event.at > 0 else None) or now,
        **texts,
        "ids": bounded(json.dumps(ids if isinstance(ids, list) else [], ensure_ascii=False), LIMITS["events"]),
        "count": _whole(record.get("count")),
        "filter": bounded(record.get("filter", ""), LIMITS["reason"]),
        "outcome": bounded(record.get("outcome", ""), 16),
        "summary": bounded(record.get("summary", ""), LIMITS["reason"]),
        "detail": bounded(record.get("detail", ""), LIMITS["reason"]),
        "event_seq": event.seq,
        "archived_at": now,
    }


_TEXT_FIELDS = {
    "func": "func_name",
    "queue": "queue",
    "exc_type": "exc_type",
    "message": "exc_message",
    "traceback": "traceback",
    "reason": "reason",
    "fingerprint": "fingerprint",
    "origin": "origin",
    "worker": "worker",
}
