"""audit: the audit log of operator actions (requeue, replay, delete, purge, dismiss, pause, resume)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("audit_id", sa.String(64), nullable=False, unique=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(32), nullable=False, server_default=""),
        sa.Column("actor", sa.String(255), nullable=False, server_default=""),
        sa.Column("via", sa.String(16), nullable=False, server_default=""),
        sa.Column("role", sa.String(16), nullable=False, server_default=""),
        sa.Column("address", sa.String(255), nullable=False, server_default=""),
        sa.Column("ids", sa.Text, nullable=False, server_default="[]"),
        sa.Column("count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("filter", sa.Text, nullable=False, server_default=""),
        sa.Column("queue", sa.String(255), nullable=False, server_default=""),
        sa.Column("outcome", sa.String(16), nullable=False, server_default=""),
        sa.Column("summary", sa.Text, nullable=False, server_default=""),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.Column("event_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_audit_at", "audit", ["at"])
    op.create_index("ix_audit_actor_at", "audit", ["actor", "at"])


def downgrade() -> None:
    op.drop_index("ix_audit_actor_at", "audit")
    op.drop_index("ix_audit_at", "audit")
    op.drop_table("audit")
