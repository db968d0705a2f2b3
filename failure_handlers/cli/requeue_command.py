"""`rq-dlq requeue` (and `scripts/requeue.py`): put failed jobs back, exactly once, fresh retry budget."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.progress import Progress

from failure_handlers.audit import os_actor
from failure_handlers.cli.operator import (
    USAGE_ERROR,
    Operator,
    build_filter,
    describe_filter,
    fail,
    filter_options,
    operator,
)
from failure_handlers.operations.replay import ReplayError, check_replay, parse_arguments, replay_job
from failure_handlers.operations.requeue import Outcome, Result
from failure_handlers.operations.requeue_run import REQUEUE_BATCH, RequeueOptions, requeue_jobs

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
    default=REQUEUE_BATCH,
    show_default=True,
    help="Jobs per pipelined round trip.",
)
@click.option(
    "--args", "args_json", metavar="JSON", help="Replay ONE job with these positional arguments (a JSON array)."
)
@click.option(
    "--kwargs", "kwargs_json", metavar="JSON", help="Replay ONE job with these keyword arguments (a JSON object)."
)
@click.option("--edit", is_flag=True, help="Replay ONE job: edit its stored arguments as JSON in $EDITOR first.")
def requeue(
    job_ids: tuple[str, ...],
    everything: bool,
    dry_run: bool,
    retries: int | None,
    front: bool,
    force: bool,
    rate: float | None,
    batch: int,
    args_json: str | None,
    kwargs_json: str | None,
    edit: bool,
    **filters: object,
) -> int:
    """Requeue failed jobs JOB_IDS, or --all, or those matching filters.

    Each job goes back to its own queue with a fresh retry budget; its DLQ entry is removed.
    A job whose RQ hash has expired is rebuilt from its DLQ entry. A job of an @idempotent task
    whose key is already done is skipped ("already processed") unless --force.

    With --args/--kwargs (or --edit), ONE job is replayed with edited arguments (docs/incidents.md).
    """
    op = operator(reconcile=not dry_run)
    chosen_filters = any(value is not None for value in filters.values())
    if edit or args_json is not None or kwargs_json is not None:
        if len(job_ids) != 1 or everything or chosen_filters:
            raise click.UsageError("--args, --kwargs and --edit replay exactly one job: give one job id")
        if retries is None:
            retries = op.settings.retry.max
        return replay(op, job_ids[0], args_json, kwargs_json, edit, dry_run, retries, front)
    if bool(job_ids) == (everything or chosen_filters):
        raise click.UsageError("give job ids, or --all and/or filters (not both)")
    op.dlq.claims.release_stale()  # before selecting: the entries of a requeue that died can be chosen
    if job_ids:
        ids = list(dict.fromkeys(job_ids))
    else:
        ids = op.dlq.select_ids(build_filter(op, **filters), prune=not dry_run)  # oldest failure first
        if front:
            ids.reverse()
    options = RequeueOptions(
        op.settings.retry.max if retries is None else retries,
        op.settings.retry.intervals,
        op.settings.metrics.max_label_values,
        op.settings.serializer,
        at_front=front,
        force=force,
        dry_run=dry_run,
        batch=batch,
        rate=rate,
    )
    per_job_lines = bool(job_ids) or dry_run

    def show(outcome: Outcome) -> None:
        if outcome.result is Result.ERROR:
            fail(f"{outcome.job_id!r}: {outcome.detail}")
        elif per_job_lines or outcome.result is Result.SKIPPED:
            click.echo(outcome.line())

    with Progress(console=Console(stderr=True), disable=len(ids) <= PROGRESS_ABOVE, transient=True) as progress:
        task = progress.add_task("requeueing" if not dry_run else "checking", total=len(ids))
        report = requeue_jobs(
            op.connection,
            op.dlq,
            ids,
            options,
            op.serializer,
            on_outcome=show,
            on_batch=lambda done, _total: progress.update(task, completed=done),
            audit=None if dry_run else op.audit,
            actor=os_actor("cli"),
            what="ids given" if job_ids else describe_filter(filters),
        )
    click.echo(report.line())
    return USAGE_ERROR if report.errors else 0


def replay(
    op: Operator,
    job_id: str,
    args_json: str | None,
    kwargs_json: str | None,
    edit: bool,
    dry_run: bool,
    retries: int,
    front: bool,
) -> int:
    """`requeue ID --args/--kwargs/--edit`: one replay with edited arguments (`operations/replay.py`)."""
    try:
        if edit:
            args_json, kwargs_json = edited_arguments(op, job_id)
        args, kwargs = parse_arguments(args_json, kwargs_json)
        plan = check_replay(op.connection, op.dlq, job_id, args, kwargs, op.settings.serializer)
    except ReplayError as error:
        fail(str(error))
        return USAGE_ERROR
    options = RequeueOptions(
        retries,
        op.settings.retry.intervals,
        op.settings.metrics.max_label_values,
        op.settings.serializer,
        at_front=front,
        dry_run=dry_run,
    )
    outcome = replay_job(op.connection, op.dlq, plan, options, op.serializer, op.audit, os_actor("cli"))
    if outcome.result is Result.ERROR:
        fail(f"{outcome.job_id!r}: {outcome.detail}")
        return USAGE_ERROR
    click.echo(outcome.line())
    return 0


EDIT_HELP = "# Edit the arguments of the replay (JSON). Lines starting with # are ignored. Empty file: cancel.\n"


def edited_arguments(op: Operator, job_id: str) -> tuple[str | None, str | None]:
    """The entry's stored arguments, as edited in $EDITOR: `(args_json, kwargs_json)`."""
    entry = op.dlq.get(job_id)
    if entry is None:
        raise ReplayError(f"no DLQ entry {job_id!r} (only a dead job can be replayed; see rq-dlq list)")
    shown = entry.as_json()
    text = EDIT_HELP + json.dumps({"args": shown["args"], "kwargs": shown["kwargs"]}, indent=2, ensure_ascii=False)
    edited = click.edit(text, extension=".json", require_save=False)
    body = "\n".join(line for line in (edited or "").splitlines() if not line.lstrip().startswith("#"))
    if not body.strip():
        raise ReplayError("replay cancelled: the edited file is empty")
    try:
        value = json.loads(body)
    except ValueError as error:
        raise ReplayError(f"the edited arguments are not valid JSON ({error})") from None
    if not isinstance(value, dict) or set(value) - {"args", "kwargs"}:
        raise ReplayError('the edited file must be one JSON object: {"args": [...], "kwargs": {...}}')
    return (
        json.dumps(value["args"]) if "args" in value else None,
        json.dumps(value["kwargs"]) if "kwargs" in value else None,
    )
