"""`rq-dlq pause QUEUE` and `rq-dlq resume QUEUE`: stop and restart one queue's workers (queues/pause.py)."""

from __future__ import annotations

import json

import click

from failure_handlers.audit import os_actor
from failure_handlers.cli.operator import operator
from failure_handlers.dlq.actor import actor
from failure_handlers.queues.pause import pause_queue, paused_queues, resume_queue


@click.command()
@click.argument("queue")
@click.option("--reason", default="", help="Why (shown on the dashboard and by `rq-dlq paused`).")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
def pause(queue: str, reason: str, dry_run: bool) -> int:
    """Pause QUEUE: workers started with our worker class take none of its jobs until `resume`
    (running jobs finish; its jobs stay queued). Workers without it ignore the pause."""
    op = operator()
    by = actor("rq-dlq pause")
    change = pause_queue(op.connection, op.dlq.keys, queue, reason, by, dry_run, audit=op.audit, actor=os_actor("cli"))
    click.echo(change.line())
    return 0


@click.command()
@click.argument("queue")
@click.option("--dry-run", is_flag=True, help="Say what would change; change nothing.")
def resume(queue: str, dry_run: bool) -> int:
    """Resume QUEUE: its workers take its jobs again within a few seconds."""
    op = operator()
    change = resume_queue(op.connection, op.dlq.keys, queue, dry_run, audit=op.audit, actor=os_actor("cli"))
    click.echo(change.line())
    return 0


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per paused queue.")
def paused(as_json: bool) -> int:
    """List the paused queues: since when, by whom, why."""
    op = operator()
    for state in sorted(paused_queues(op.connection, op.dlq.keys).values(), key=lambda s: s.queue):
        if as_json:
            click.echo(json.dumps(state.as_json()))
        else:
            click.echo(f"{state.queue}  paused {state.paused_at} by {state.by}  {state.reason}".rstrip())
    return 0
