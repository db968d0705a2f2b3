"""`rq-dlq alert --once | --watch`: alert notifications (the Procfile's `alerts` process; cron for --once)."""

from __future__ import annotations

import click

from failure_handlers.cli.operator import DurationParam, operator
from failure_handlers.redaction import redact_url


@click.command()
@click.option(
    "--once", "mode", flag_value="once", help="One pass, then exit (for cron): exit 1 if deliveries are pending."
)
@click.option("--watch", "mode", flag_value="watch", help="Keep running, a pass every --interval.")
@click.option("--interval", type=DurationParam(), help="Between passes with --watch [ALERT_INTERVAL_SECONDS].")
def alert(mode: str | None, interval: float | None) -> int:
    """Notify a webhook and/or e-mail when failures need a human: a new failure group, a burst of one
    group, the DLQ past its warning/critical size, an entry older than the maximum age (and when
    those clear). One notification per rule and subject per cool-down, across any number of processes."""
    from failure_handlers.alerts.notifier import Notifier, watch

    if mode is None:
        raise click.UsageError("give --once (one pass, for cron) or --watch (keep running)")
    op = operator(reconcile=False)
    notifier = Notifier(op.connection, op.settings)
    if mode == "watch":
        watch(notifier, interval or op.settings.alerts.interval_seconds, redact_url(op.settings.redis_url))
        return 0
    report = notifier.run_once()
    for line in report.notified:
        click.echo(f"notified: {line}")
    if report.baseline_groups:
        click.echo(f"noted {report.baseline_groups} existing failure groups (first run: not announced)")
    click.echo(report.line())
    return 1 if report.failed else 0
