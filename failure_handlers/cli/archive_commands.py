"""`rq-dlq archive init|run|status` and `rq-dlq history [stats]`: the durable failure archive in SQL.

SQLAlchemy is imported only when one of these commands runs (the `archive` extra): `rq-dlq`'s
other verbs work without it.
"""

from __future__ import annotations

import csv
import io

import click
from rich.table import Table
from rich.text import Text

from failure_handlers.archive.outcomes import OUTCOMES
from failure_handlers.cli import views
from failure_handlers.cli.operator import dlq_filter, filter_options, operator
from failure_handlers.dlq.first_cause import event_lines
from failure_handlers.errors import OperatorError
from failure_handlers.recording.failure_record import one_line


@click.group()
def archive() -> None:
    """The durable failure archive in SQL (ARCHIVE_URL): schema, archiver, status."""


@archive.command()
def init() -> None:
    """Create the archive's schema, or upgrade it to this version's."""
    from failure_handlers.archive import database

    settings = operator(reconcile=False).settings.archive
    if not settings.enabled:
        raise OperatorError("the failure archive is off: set ARCHIVE_URL (see docs/archive.md)")
    before, after = database.upgrade(database.make_engine(settings), settings)
    change = "created" if before is None else ("already at" if before == after else f"upgraded from {before} to")
    click.echo(f"archive schema {change} {after} at {settings.shown_url}")


@archive.command()
@click.option("--once", is_flag=True, help="Archive what is waiting, sweep and apply retention, then exit.")
def run(once: bool) -> None:
    """Move dead-letterings and their outcomes from the Redis stream into SQL (the Procfile's `archiver`)."""
    from failure_handlers.archive.archiver import Archiver
    from failure_handlers.archive.service import checked_engine, engine

    op = operator(reconcile=False)
    if once:
        archiver = Archiver(op.connection, op.settings, checked_engine(op.settings.archive))
        click.echo(archiver.run_once().line())
    else:  # waits for a database that is down, as it does when the database fails mid-run
        archiver = Archiver(op.connection, op.settings, engine(op.settings.archive))
        archiver.run_forever()


@archive.command()
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def status(as_json: bool) -> int:
    """Lag, pending, lost events, the last batch, the database; exit 1 if events were lost or the
    database is unusable."""
    from failure_handlers.archive.service import archive_status

    op = operator(reconcile=False)
    if not op.settings.archive.enabled:
        raise OperatorError("the failure archive is off: set ARCHIVE_URL (see docs/archive.md)")
    figures = archive_status(op.connection, op.settings.dlq.prefix, op.settings.archive)
    if as_json:
        click.echo(views.to_json(figures.as_json()))
    else:
        for line in figures.lines():
            click.echo(line)
    return 0 if figures.healthy else 1


def history_filter(given: dict[str, object]):  # noqa: ANN201 - a history.HistoryFilter
    from failure_handlers.archive import history

    return history.HistoryFilter(dlq_filter(given), _text(given.get("outcome")), _text(given.get("job_id")))


def _runs(max_retries: object) -> str:
    """All the runs a job had in its budget: its retries and the first run."""
    return str(max_retries + 1) if isinstance(max_retries, int) else "?"


def _events(events_json: object) -> list[str]:
    """A row's newest events (a job recorded again), one short line each."""
    return [one_line(line, 2 * views.MESSAGE_WIDTH) for line in event_lines(events_json)]


def _duplicated(count: object) -> str:
    """` (1 duplicated)`: runs that repeated an attempt (the job ran twice); '' when none."""
    return f" ({count} duplicated)" if isinstance(count, int) and count > 0 else ""


def _text(value: object) -> str | None:
    """A click option's text (None when not given)."""
    return value if isinstance(value, str) else None


def history_options(command):  # noqa: ANN001, ANN201 - a click decorator
    command = filter_options(command)
    command = click.option("--job-id", help="Only this job's dead-letterings.")(command)
    return click.option("--outcome", type=click.Choice(OUTCOMES), help="Only rows that ended this way.")(command)


@click.group(invoke_without_command=True)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Rows to show.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Matching rows to skip.")
@history_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of rows (with tracebacks).")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (with tracebacks), for a spreadsheet.")
@click.pass_context
def history_command(ctx: click.Context, limit: int, offset: int, as_json: bool, as_csv: bool, **given: object) -> None:
    """Every dead-lettering the archive keeps, newest first, with how it ended (any time range)."""
    if ctx.invoked_subcommand is not None:
        return
    from failure_handlers.archive import database, history
    from failure_handlers.archive.service import checked_engine

    settings = operator(reconcile=False).settings.archive
    engine = checked_engine(settings)
    with database.reporting(settings):
        rows = history.rows(engine, history_filter(given), limit, offset, with_traceback=as_json or as_csv)
    if as_json:
        click.echo(views.to_json(rows))
    elif as_csv:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [*history.ROW_COLUMNS, "traceback"])
        writer.writeheader()
        writer.writerows(rows)
        click.echo(out.getvalue(), nl=False)
    else:
        views.show(_rows_table(rows))


@history_command.command("stats")
@history_options
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Functions and groups shown.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def history_stats(top: int, as_json: bool, **given: object) -> None:
    """Failures per day, per function and per failure group, with how they ended."""
    from failure_handlers.archive import database, history
    from failure_handlers.archive.service import checked_engine

    settings = operator(reconcile=False).settings.archive
    engine = checked_engine(settings)
    with database.reporting(settings):
        figures = history.stats(engine, history_filter(given), top)
    if as_json:
        click.echo(views.to_json(figures))
        return
    views.show(Text(f"{figures['total']} dead-letterings: " + _outcomes(figures["by_outcome"])))
    for title, key in (("per day (UTC)", "per_day"), ("per function", "per_func"), ("per failure group", "per_group")):
        table = Table(title=title, title_justify="left")
        for column in ("", "total", *OUTCOMES):
            table.add_column(column, justify="left" if not column else "right", overflow="fold")
        for row in figures[key]:
            label = row["key"] + (f" ({row['exc_type']})" if row.get("exc_type") else "")
            table.add_row(label, str(row["total"]), *[str(row.get(outcome, 0)) for outcome in OUTCOMES])
        views.show(table)


def _outcomes(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(outcome, 0)} {outcome}" for outcome in OUTCOMES)


def _rows_table(rows: list[dict[str, object]]) -> Table:
    table = Table(title=f"Failure archive: {len(rows)} shown, newest first", title_justify="left")
    for column in ("job id", "queue", "function", "exception", "message", "attempts", "failed at (UTC)", "outcome"):
        table.add_column(column, overflow="fold")
    for row in rows:
        outcome = str(row["outcome"]) + (f" by {row['outcome_by']}" if row["outcome_by"] else "")
        table.add_row(
            str(row["job_id"]),
            str(row["queue"]),
            str(row["func"]),
            str(row["exc_type"]),
            Text("\n".join([one_line(str(row["message"]), views.MESSAGE_WIDTH), *_events(row.get("events"))])),
            f"{row['attempts']}/{_runs(row['max_retries'])}" + _duplicated(row.get("duplicated_runs")),
            str(row["failed_at"])[:19].replace("T", " "),
            Text(outcome),
        )
    return table
