"""failed_jobs: one row per dead-lettering, with its outcome

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "failed_jobs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("dead_letter_id", sa.String(512), nullable=False, unique=True),
        sa.Column("job_id", sa.String(255), nullable=False),
        sa.Column("func", sa.String(512), nullable=False, server_default=""),
        sa.Column("queue", sa.String(255), nullable=False, server_default=""),
        sa.Column("exc_type", sa.String(255), nullable=False, server_default=""),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("traceback", sa.Text, nullable=False, server_default=""),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("max_retries", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("fingerprint", sa.String(64), nullable=False, server_default=""),
        sa.Column("origin", sa.String(512), nullable=False, server_default=""),
        sa.Column("args", sa.Text, nullable=False, server_default="[]"),
        sa.Column("kwargs", sa.Text, nullable=False, server_default="{}"),
        sa.Column("enqueued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(255), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(16), nullable=False, server_default="open"),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_by", sa.String(255), nullable=False, server_default=""),
        sa.Column("event_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_failed_jobs_job_id", "failed_jobs", ["job_id"])
    op.create_index("ix_failed_jobs_failed_at", "failed_jobs", ["failed_at"])
    for column in ("func", "queue", "exc_type", "fingerprint", "outcome"):
        op.create_index(f"ix_failed_jobs_{column}_failed_at", "failed_jobs", [column, "failed_at"])


def downgrade() -> None:
    op.drop_table("failed_jobs")
