"""The archive's table, `failed_jobs`: one row per dead-lettering (docs/archive.md describes every column).

The migrations (`migrations/versions/`) create exactly this; a change here needs a new revision.
Text columns are bounded: `rows.py` cuts longer values and marks the cut.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text

from failure_handlers.archive.outcomes import OUTCOMES

metadata = MetaData()
__all__ = ["AUDIT_LIMITS", "LIMITS", "OUTCOMES", "audit", "failed_jobs", "metadata"]

# Longest value kept per text column, in characters (a cut value ends with rows.CUT_MARK).
LIMITS = {
    "dead_letter_id": 512,
    "job_id": 255,
    "func": 512,
    "queue": 255,
    "exc_type": 255,
    "message": 8_000,
    "traceback": 64_000,
    "reason": 1_000,
    "fingerprint": 64,
    "origin": 512,
    "args": 16_000,
    "kwargs": 16_000,
    "worker": 255,
    "outcome_by": 255,
    "events": 16_000,
}

# BIGINT on PostgreSQL, INTEGER (the rowid alias that autoincrements) on SQLite.
_ID = BigInteger().with_variant(Integer(), "sqlite")

failed_jobs = Table(
    "failed_jobs",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("dead_letter_id", String(LIMITS["dead_letter_id"]), nullable=False, unique=True),
    Column("job_id", String(LIMITS["job_id"]), nullable=False),
    Column("func", String(LIMITS["func"]), nullable=False, server_default=""),
    Column("queue", String(LIMITS["queue"]), nullable=False, server_default=""),
    Column("exc_type", String(LIMITS["exc_type"]), nullable=False, server_default=""),
    Column("message", Text, nullable=False, server_default=""),
    Column("traceback", Text, nullable=False, server_default=""),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_retries", Integer, nullable=False, server_default="0"),
    Column("reason", Text, nullable=False, server_default=""),
    Column("fingerprint", String(LIMITS["fingerprint"]), nullable=False, server_default=""),
    Column("origin", String(LIMITS["origin"]), nullable=False, server_default=""),
    Column("args", Text, nullable=False, server_default="[]"),
    Column("kwargs", Text, nullable=False, server_default="{}"),
    Column("enqueued_at", DateTime(timezone=True), nullable=True),
    Column("failed_at", DateTime(timezone=True), nullable=False),
    Column("worker", String(LIMITS["worker"]), nullable=False, server_default=""),
    Column("outcome", String(16), nullable=False, server_default="open"),
    Column("outcome_at", DateTime(timezone=True), nullable=True),
    Column("outcome_by", String(LIMITS["outcome_by"]), nullable=False, server_default=""),
    Column("event_seq", BigInteger, nullable=False, server_default="0"),
    Column("archived_at", DateTime(timezone=True), nullable=False),
    # A re-recorded dead-lettering (docs/dlq-contract.md#the-first-cause-wins): its duplicated runs and
    # its events (JSON text), and the stream number of the `dead` event whose entry the row holds.
    Column("duplicated_runs", Integer, nullable=False, server_default="0"),
    Column("events", Text, nullable=False, server_default="[]"),
    Column("entry_seq", BigInteger, nullable=False, server_default="0"),
    Index("ix_failed_jobs_job_id", "job_id"),
    Index("ix_failed_jobs_failed_at", "failed_at"),
    Index("ix_failed_jobs_func_failed_at", "func", "failed_at"),
    Index("ix_failed_jobs_queue_failed_at", "queue", "failed_at"),
    Index("ix_failed_jobs_exc_type_failed_at", "exc_type", "failed_at"),
    Index("ix_failed_jobs_fingerprint_failed_at", "fingerprint", "failed_at"),
    Index("ix_failed_jobs_outcome_failed_at", "outcome", "failed_at"),
)

# The audit log of operator actions (audit/log.py), one row per record, keyed by its Redis stream id.
AUDIT_LIMITS = {"audit_id": 64, "action": 32, "actor": 255, "via": 16, "role": 16, "address": 255, "queue": 255}

audit = Table(
    "audit",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("audit_id", String(AUDIT_LIMITS["audit_id"]), nullable=False, unique=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(AUDIT_LIMITS["action"]), nullable=False, server_default=""),
    Column("actor", String(AUDIT_LIMITS["actor"]), nullable=False, server_default=""),
    Column("via", String(AUDIT_LIMITS["via"]), nullable=False, server_default=""),
    Column("role", String(AUDIT_LIMITS["role"]), nullable=False, server_default=""),
    Column("address", String(AUDIT_LIMITS["address"]), nullable=False, server_default=""),
    Column("ids", Text, nullable=False, server_default="[]"),  # JSON: the first ids (audit.log.IDS_KEPT)
    Column("count", Integer, nullable=False, server_default="0"),
    Column("filter", Text, nullable=False, server_default=""),
    Column("queue", String(AUDIT_LIMITS["queue"]), nullable=False, server_default=""),
    Column("outcome", String(16), nullable=False, server_default=""),
    Column("summary", Text, nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),
    Column("event_seq", BigInteger, nullable=False, server_default="0"),
    Column("archived_at", DateTime(timezone=True), nullable=False),
    Index("ix_audit_at", "at"),
    Index("ix_audit_actor_at", "actor", "at"),
)
