"""failed_jobs: a re-recorded dead-lettering's duplicated runs and events, and which `dead` event
the row's content came from

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("failed_jobs") as table:
        table.add_column(sa.Column("duplicated_runs", sa.Integer, nullable=False, server_default="0"))
        table.add_column(sa.Column("events", sa.Text, nullable=False, server_default="[]"))
        table.add_column(sa.Column("entry_seq", sa.BigInteger, nullable=False, server_default="0"))
    # An open row's event_seq is its last `dead` event's: the entry it holds (outcomes set other rows').
    op.execute("UPDATE failed_jobs SET entry_seq = event_seq WHERE outcome = 'open'")


def downgrade() -> None:
    with op.batch_alter_table("failed_jobs") as table:
        table.drop_column("entry_seq")
        table.drop_column("events")
        table.drop_column("duplicated_runs")
