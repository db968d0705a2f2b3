"""`rq-dlq audit`: who did what to the dead jobs, newest first. Reads only (a read-only ACL user can run it)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from rich.table import Table
from rich.text import Text

from failure_handlers.audit.log import ACTIONS, AuditRecord
from failure_handlers.cli import views
from failure_handlers.cli.operator import TimeParam, operator
from failure_handlers.recording.failure_record import one_line

IDS_SHOWN = 3


@click.command("audit")
@click.option("--since", type=TimeParam(), help="Actions at or after: ISO time or a duration ago (2h).")
@click.option("--actor", help="Only actors whose name contains this (alice, deploy-bot, ops-1).")
@click.option("--action", type=click.Choice(ACTIONS), help="Only this action.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Records at most.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of records.")
def audit(since: float | None, actor: str | None, action: str | None, limit: int, as_json: bool) -> None:
    """The audit log: every requeue, delete, purge (and replay, pause, resume) from the CLI, the
    dashboard, the API and Python, with who, when, what and the outcome."""
    op = operator()
    records = op.audit.read(since=since, actor=actor, action=action, limit=limit)
    if as_json:
        click.echo(views.to_json([record.as_json() for record in records]))
    else:
        views.show(audit_table(records))


def audit_table(records: list[AuditRecord]) -> Table:
    """Every text as `Text` (never rich markup): job ids and filters are hostile input."""
    table = Table(title=f"Audit log: {len(records)} shown, newest first", title_justify="left")
    for name in ("at (UTC)", "actor", "via", "action", "what", "outcome"):
        table.add_column(name, overflow="fold", no_wrap=name == "at (UTC)")
    for record in records:
        when = datetime.fromtimestamp(record.at, UTC).strftime("%Y-%m-%d %H:%M:%S")
        via = " ".join(part for part in (record.via, f"({record.role})" if record.role else "", record.address) if part)
        table.add_row(
            when,
            Text(record.actor),
            Text(via),
            Text(record.action),
            Text(one_line(what(record), 80)),
            Text(f"{record.outcome}: {record.summary}" if record.summary else record.outcome),
        )
    return table


def what(record: AuditRecord) -> str:
    """`3 jobs: a, b, c`, `queue=billing (1,204 matched)`, `queue billing`."""
    if record.queue:
        return f"queue {record.queue}"
    ids = ", ".join(record.ids[:IDS_SHOWN]) + (", ..." if record.count > IDS_SHOWN else "")
    if record.filter and record.filter != "ids given":
        return f"{record.filter} ({record.count:,} matched)" + (f": {ids}" if ids else "")
    return f"{record.count:,} job{'s' if record.count != 1 else ''}: {ids}"
