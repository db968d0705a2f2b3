"""Run the chaos experiment: jobs, killed work-horses and workers, a Redis restart, then the invariant.

Exit status 0 when every job is exactly one of {finished, in the DLQ}, 1 otherwise.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere, installed or not

import click

from chaos.experiment import ChaosConfig, run
from failure_handlers.cli.operator import run as run_command


@click.command()
@click.option("--jobs", type=click.IntRange(min=1), default=2_000, show_default=True)
@click.option("--seed", type=int, default=ChaosConfig.seed, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--horse-kills", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--worker-kills", type=click.IntRange(min=0), default=3, show_default=True)
@click.option("--redis-restarts", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--archive-url", help="Turn the failure archive on (e.g. sqlite:////tmp/chaos.db): archiver killed once.")
@click.option("--keep", type=click.Path(file_okay=False, path_type=Path), help="Keep logs and data here.")
def cli(
    jobs: int,
    seed: int,
    workers: int,
    horse_kills: int,
    worker_kills: int,
    redis_restarts: int,
    archive_url: str | None,
    keep: Path | None,
) -> int:
    """Run the chaos experiment on a private valkey-server and print the accounting invariant."""
    config = ChaosConfig(jobs, seed, workers, horse_kills, worker_kills, redis_restarts, archive_url=archive_url)
    with tempfile.TemporaryDirectory(prefix="chaos-") as scratch:
        work_dir = keep or Path(scratch)
        work_dir.mkdir(parents=True, exist_ok=True)
        figures = run(config, work_dir, say=lambda line: click.echo(line, err=True))
    click.echo(f"dead by cause: {dict(figures.dead_by_cause.most_common())}")
    click.echo(figures.summary())
    click.echo(
        "invariant holds: every job is exactly one of {finished, in DLQ}" if figures.holds else "INVARIANT BROKEN"
    )
    for name in ("lost", "both", "causeless", "archive_missing", "archive_extra"):
        if ids := getattr(figures, name):
            click.echo(f"{name}: {ids[:20]}")
    return 0 if figures.holds else 1


if __name__ == "__main__":
    run_command(cli)
