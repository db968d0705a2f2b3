"""The DLQ verbs of `rq-dlq`: list, show, stats, delete, purge, check, reconcile."""

from __future__ import annotations

import time

import click

from failure_handlers.audit import os_actor
from failure_handlers.audit.reports import record_run
from failure_handlers.cli import views
from failure_handlers.cli.operator import (
    USAGE_ERROR,
    DurationParam,
    build_filter,
    describe_filter,
    fail,
    filter_options,
    operator,
)
from failure_handlers.dlq.actor import actor
from failure_handlers.dlq.health import Thresholds, assess
from failure_handlers.errors import OperatorError
from failure_handlers.jobs.status import job_status
from failure_handlers.operations.delete import delete_dead_jobs
from failure_handlers.operations.reconciler import run_forever
from failure_handlers.operations.report import BulkReport

DISTRIBUTION = "rq-dead-letter"


@click.group()
@click.version_option(package_name=DISTRIBUTION, prog_name="rq-dlq")
def rq_dlq() -> None:
    """Inspect, tidy and requeue the dead-letter queue (DLQ) of failed RQ jobs."""


@rq_dlq.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Rows per page.")
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True, help="Matching rows to skip.")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of entries.")
def list_entries(limit: int, offset: int, as_json: bool, **filters: object) -> None:
    """List dead jobs, newest first."""
    op = operator()
    selection = op.dlq.select(build_filter(op, **filters), newest_first=True, offset=offset, limit=limit)
    entries = [entry for entry in op.dlq.get_many(selection.ids) if entry is not None]
    if selection.how:
        click.echo(f"note: {selection.how}", err=True)
    op.note_backlog()
    if as_json:
        click.echo(views.to_json([entry.as_json() for entry in entries]))
    else:
        views.show(views.entries_table(entries))


@rq_dlq.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True, help="Print the entry as JSON.")
def show(job_id: str, as_json: bool) -> None:
    """Show one dead job: the entry, its traceback, its attempts, and the RQ job's status now."""
    op = operator()
    entry = op.dlq.get(job_id)
    if entry is None:
        raise OperatorError(f"no DLQ entry for job {job_id!r} (see: rq-dlq list)")
    if missing := entry.missing_fields():
        raise OperatorError(
            f"the DLQ entry of {job_id!r} is malformed (missing {', '.join(missing)}); "
            f"remove it with: rq-dlq delete --keep-job {job_id}"
        )
    status = job_status(op.connection, job_id)
    op.note_backlog()
    trace_url = op.settings.telemetry.trace_url(entry.trace_id, entry.span_id)
    if as_json:
        click.echo(views.to_json({**entry.as_json(), "trace_url": trace_url, "job_status": status}))
    else:
        views.show(views.entry_detail(entry, status, trace_url))


@rq_dlq.command()
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Failure groups to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(top: int, as_json: bool) -> None:
    """Totals, ages, counts by queue, function, exception type and failure group."""
    op = operator()
    figures = op.dlq.stats(top_groups=top)
    backlog = op.note_backlog()
    now = time.time()
    if as_json:
        click.echo(views.to_json({**figures.as_json(now), "reconcile_pending": backlog.as_json()}))
    else:
        views.show(views.stats_tables(figures, now))


@rq_dlq.command()
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--keep-job", is_flag=True, help="Delete only the DLQ entry; leave the job in RQ's failed registry.")
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; change nothing.")
def delete(job_ids: tuple[str, ...], keep_job: bool, dry_run: bool) -> int:
    """Delete dead jobs by id (and their RQ failed jobs, unless --keep-job)."""
    op = operator(reconcile=not dry_run)
    ids = list(dict.fromkeys(job_ids))
    found = [job_id for job_id, entry in zip(ids, op.dlq.get_many(ids), strict=True) if entry is not None]
    for job_id in ids:
        if job_id not in found:
            fail(f"no DLQ entry for job {job_id!r}")
    if not dry_run:
        started = time.monotonic()
        report = BulkReport("delete", False, len(ids))
        report.done = delete_dead_jobs(op.connection, op.dlq, found, keep_job=keep_job, by=actor("rq-dlq delete"))
        report.skipped = len(ids) - len(found)
        report.seconds = time.monotonic() - started
        record_run(op.audit, "dismiss" if keep_job else "delete", os_actor("cli"), ids, report, "ids given")
    verb = "would delete" if dry_run else "deleted"
    for job_id in found:
        click.echo(f"{verb} {job_id}" + (" (DLQ entry only)" if keep_job else ""))
    return USAGE_ERROR if len(found) < len(ids) else 0


@rq_dlq.command()
@filter_options
@click.option("--keep-job", is_flag=True, help="Delete only the DLQ entries; leave RQ's failed jobs.")
@click.option("--dry-run", is_flag=True, help="Print how many would be deleted; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def purge(keep_job: bool, dry_run: bool, yes: bool, **filters: object) -> None:
    """Delete every dead job matching the filters (all of them without filters)."""
    op = operator(reconcile=not dry_run)
    selection = build_filter(op, **filters)
    members = None if dry_run else op.dlq.members(selection)  # a purge need not read 100,000 hashes first
    ids = op.dlq.select_ids(selection, prune=not dry_run) if members is None else members
    what = "every dead job" if selection.is_empty() else "the dead jobs matching the filters"
    if dry_run:
        click.echo(f"would delete {len(ids)} entries ({what})")
        return
    if ids and not yes:
        click.confirm(f"Delete {len(ids)} DLQ entries ({what}){'' if keep_job else ' and their RQ jobs'}?", abort=True)
    started = time.monotonic()
    report = BulkReport("delete", False, len(ids))
    report.done = delete_dead_jobs(
        op.connection, op.dlq, ids, keep_job=keep_job, outcome="purged", by=actor("rq-dlq purge")
    )
    report.seconds = time.monotonic() - started
    what = describe_filter(filters) + (" (DLQ entries only)" if keep_job else "")
    record_run(op.audit, "purge", os_actor("cli"), ids, report, what, matched=len(ids))
    click.echo(f"deleted {report.done} entries")


@rq_dlq.command()
@click.option("--warn", "warn_size", type=click.IntRange(min=1), help="Warn at this many dead jobs [DLQ_WARN_SIZE].")
@click.option("--crit", "crit_size", type=click.IntRange(min=1), help="Critical at this many [DLQ_CRIT_SIZE].")
@click.option("--max-age", type=DurationParam(), help="Warn when the oldest is older (e.g. 24h) [DLQ_MAX_AGE_SECONDS].")
def check(warn_size: int | None, crit_size: int | None, max_age: float | None) -> int:
    """One summary line (a second one when a reconciliation pass is due); exit 0 OK, 1 WARNING, 2 CRITICAL."""
    op = operator()
    limits = Thresholds(
        warn_size=warn_size or op.settings.dlq.warn_size,
        crit_size=crit_size or op.settings.dlq.crit_size,
        max_age_seconds=max_age if max_age is not None else op.settings.dlq.max_age_seconds,
    )
    figures = op.dlq.stats(top_groups=1)
    oldest_age = time.time() - figures.oldest if figures.oldest else None
    health, line = assess(figures.total, oldest_age, figures.dropped, limits)
    click.echo(line)
    if note := op.backlog().line():
        click.echo(note)  # a second line: a monitoring plugin's long output
    return int(health)


@rq_dlq.command()
@click.option("--watch", is_flag=True, help="Keep running (the Procfile's `reconciler` process).")
@click.option("--interval", type=DurationParam(), default="5s", show_default=True, help="Between passes with --watch.")
@click.option("--full-every", type=click.IntRange(min=1), default=60, show_default=True, help="Every Nth pass is full.")
@click.option("--incremental", is_flag=True, help="Look only at the newest jobs and entries (what commands run first).")
def reconcile(watch: bool, interval: float, full_every: int, incremental: bool) -> None:
    """Make RQ's failed registries and the DLQ agree: dead-letter what RQ failed without our handler
    (killed work-horses, stopped and abandoned jobs); drop entries of jobs requeued by other tools."""
    op = operator(reconcile=False)
    if watch:
        run_forever(op.reconciler(), interval, full_every, op.settings.redis_url)
    else:
        click.echo(op.reconciler().run(full=not incremental, index_search=True).line())
