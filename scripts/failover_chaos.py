"""Run the failover chaos experiment: jobs through a frozen and a shut-down Sentinel-managed primary,
then an account per job (chaos/failover.py). Needs Debian's redis-server (7.0, Sentinel mode).

Exit status 0 when the goal holds (0 lost, 0 causes lost, 0 duplicate dead-letterings, every extra run
explained by a disruption), 1 otherwise, 2 when redis-server is missing.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere, installed or not

import click
from loguru import logger

from chaos.failover import EXPLANATIONS, FailoverConfig, FailoverFigures, run
from failure_handlers.cli.operator import run as run_command
from failure_handlers.dev.redis_servers import REDIS_SERVER
from failure_handlers.errors import OperatorError

SHOWN_PER_KIND = 20


@click.command()
@click.option("--jobs", type=click.IntRange(min=1), default=FailoverConfig.jobs, show_default=True)
@click.option(
    "--wait-replicas/--no-wait-replicas",
    default=False,
    show_default=True,
    help="DLQ_WAIT_REPLICAS=1 for the workers and min-replicas-to-write 1 on every server.",
)
@click.option(
    "--min-replicas/--no-min-replicas",
    default=None,
    help="min-replicas-to-write 1 on every server (default: with --wait-replicas).",
)
@click.option("--both", is_flag=True, help="Run without, then with --wait-replicas (two accounts).")
@click.option("--workers", type=click.IntRange(min=1), default=FailoverConfig.workers, show_default=True)
@click.option("--seed", type=int, default=FailoverConfig.seed, show_default=True)
@click.option(
    "--freeze-seconds", type=click.FloatRange(min=0), default=FailoverConfig.freeze_seconds, show_default=True
)
@click.option(
    "--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep servers' data, logs and runs here."
)
def cli(
    jobs: int,
    wait_replicas: bool,
    min_replicas: bool | None,
    both: bool,
    workers: int,
    seed: int,
    freeze_seconds: float,
    keep: Path | None,
) -> int:
    """Freeze the primary once and shut it down once while workers, the reconciler and the archiver run on
    a redis+sentinel:// URL; print the account per job and the verdict."""
    if REDIS_SERVER is None:
        raise OperatorError("redis-server is missing: apt-get install redis-server (7.0, Sentinel mode)")
    logger.remove()  # the workers log to their files; here only what goes wrong
    logger.add(sys.stderr, level="WARNING")
    configurations = [False, True] if both else [wait_replicas]
    holds = True
    for waits in configurations:
        config = FailoverConfig(jobs, waits, min_replicas, seed, workers, freeze_seconds=freeze_seconds)
        with tempfile.TemporaryDirectory(prefix="chaos-failover-") as scratch:
            work_dir = (keep / config.label.replace(" ", "").replace(",", "_")) if keep else Path(scratch)
            work_dir.mkdir(parents=True, exist_ok=True)
            figures = run(config, work_dir, say=lambda line: click.echo(line, err=True))
        report(figures)
        holds = holds and figures.holds
    return 0 if holds else 1


def report(figures: FailoverFigures) -> None:
    for disruption in figures.disruptions:
        click.echo(f"[{figures.label}] {disruption.line()}")
    click.echo(f"[{figures.label}] dead by cause: {dict(figures.dead_by_cause.most_common())}")
    kinds = {
        "lost": lambda a: a.lost,
        "cause lost": lambda a: a.cause_lost,
        "duplicate": lambda a: a.duplicate,
        "archive row missing": lambda a: a.archive_missing,
        "extra runs": lambda a: a.extra_runs > 0,
        "beyond budget": lambda a: a.beyond_budget,
    }
    for kind, predicate in kinds.items():
        accounts = figures.select(predicate)
        for account in accounts[:SHOWN_PER_KIND]:
            click.echo(f"[{figures.label}] {kind}: {account.line()}")
        if len(accounts) > SHOWN_PER_KIND:
            click.echo(f"[{figures.label}] {kind}: ... and {len(accounts) - SHOWN_PER_KIND} more")
    for kind, count in figures.extra_runs.items():
        click.echo(f"[{figures.label}] {count} extra runs, {kind}: {EXPLANATIONS[kind]}")
    click.echo(figures.summary())
    click.echo(
        f"[{figures.label}] goal holds: 0 lost, 0 causes lost, 0 duplicates, every extra run explained"
        if figures.holds
        else f"[{figures.label}] GOAL NOT MET"
    )


if __name__ == "__main__":
    run_command(cli)
