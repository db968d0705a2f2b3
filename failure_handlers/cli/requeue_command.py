"""`rq-dlq requeue` (and `scripts/requeue.py`): put failed jobs back, exactly once, fresh retry budget."""

from __future__ import annotations

import time

import click
from rich.console import Console
from rich.progress import Progress

from failure_handlers.cli.operator import USAGE_ERROR, build_filter, fail, filter_options, operator
from failure_handlers.operations.requeue import Requeuer, Result

PROGRESS_ABOVE = 5  # jobs; fewer get no progress bar


@click.command()
@click.argument("job_ids", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every job in the DLQ.")
@filter_options
@click.option("--dry-run", is_flag=True, help="Check and print what would be requeued; change nothing.")
@click.option("--retries", type=click.IntRange(min=0), default=None, help="New retry budget [default: RETRY_MAX].")
@click.option("--front", is_flag=True, help="Put the jobs at the front of their queues (still in failure order).")
@click.option(
    "--force",
    is_flag=True,
    help="Also requeue jobs of @idempotent tasks whose key is already done, and run their body again.",
)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="At most this many jobs per second.")
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=10_000),
    default=500,
    show_default=True,
    help="Jobs per pipelined round trip.",
)
def requeue(
    job_ids: tuple[str, ...],
    everything: bool,
    dry_run: bool,
    retries: int | None,
    front: bool,
    force: bool,
    rate: float | None,
    batch: int,
    **filters: object,
) -> int:
    """Requeue failed jobs JOB_IDS, or --all, or those matching filters.

    Each job goes back to its own queue with a fresh retry budget; its DLQ entry is removed.
    A job whose RQ hash has expired is rebuilt from its DLQ entry. A job of an @idempotent task
    whose key is already done is skipped ("already processed") unless --force.
    """
    op = operator(reconcile=not dry_run)
    chosen_filters = any(value is not None for value in filters.values())
    if bool(job_ids) == (everything or chosen_filters):
        raise click.UsageError("give job ids, or --all and/or filters (not both)")
    op.dlq.claims.release_stale()
    if job_ids:
        ids = list(dict.fromkeys(job_ids))
    else:
        ids = op.dlq.select_ids(build_filter(op, **filters))  # oldest failure first
        if front:
            ids.reverse()
    requeuer = Requeuer(
        op.connection,
        op.dlq,
        op.settings.retry.max if retries is None else retries,
        op.settings.retry.intervals,
        at_front=front,
        serializer=op.serializer,
        max_label_values=op.settings.metrics.max_label_values,
        force=force,
        serializer_name=op.settings.serializer,
    )
    per_job_lines = bool(job_ids) or dry_run
    batch = min(batch, max(1, int(rate))) if rate else batch
    counts = dict.fromkeys(Result, 0)
    started = time.monotonic()
    with Progress(console=Console(stderr=True), disable=len(ids) <= PROGRESS_ABOVE, transient=True) as progress:
        task = progress.add_task("requeueing" if not dry_run else "checking", total=len(ids))
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            for outcome in requeuer.plan(chunk) if dry_run else requeuer.requeue(chunk):
                counts[outcome.result] += 1
                if outcome.result is Result.ERROR:
                    fail(f"{outcome.job_id!r}: {outcome.detail}")
                elif per_job_lines or outcome.result is Result.SKIPPED:
                    click.echo(outcome.line())
            progress.advance(task, len(chunk))
            if rate:
                time.sleep(max(0.0, (start + len(chunk)) / rate - (time.monotonic() - started)))
    elapsed = time.monotonic() - started
    done = counts[Result.WOULD_REQUEUE] if dry_run else counts[Result.REQUEUED]
    click.echo(
        f"{'would requeue' if dry_run else 'requeued'} {done}, skipped {counts[Result.SKIPPED]}, "
        f"errors {counts[Result.ERROR]} ({elapsed:.2f} s)"
    )
    return USAGE_ERROR if counts[Result.ERROR] else 0
