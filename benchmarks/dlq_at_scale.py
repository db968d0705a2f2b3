"""Items 4 and 5: the DLQ at 100,000 entries, and bulk requeue vs `rq requeue --all`.

Item 4, per cycle (`repeat` cycles, each from an empty database): fill the DLQ with realistic entries
(10-frame tracebacks, four failure groups), time list/show/stats/filters through the library and the
CLI, a `--search` by a scan and through the search index (built first, as the reconciler does), then
`dlq.py purge --yes` them all. Item 5, per cycle: the same number of failed jobs on two
queues, requeued by `rq requeue --all` and by `scripts/requeue.py --all` (wall time, interpreter
start included for both; and CPU time: the command's process, and the server's from INFO cpu).
Reported values are medians over the cycles. On a loaded machine the wall times wander: the CPU
rows are the ones to compare.

Item 5 also counts the server's commands per job (INFO commandstats delta, the commands a Lua script
runs included, INFO itself left out); the two commands run in alternating order from cycle to cycle.

`--only purge`: per cycle, fill the DLQ and `dlq.py purge --yes` it, nothing else: the purge's wall
time, its CPU and the server's, and the server's commands per entry (the last cycle's, by command, on
stderr, with the server's microseconds per entry from INFO commandstats). With `--against DIR`, each
cycle also fills the DLQ again and purges it with the CLI of another checkout (cwd and PYTHONPATH
DIR, its .venv's python if it has one; e.g. main), which one goes first alternating: the baseline
column, measured in the same run.

Standalone: python benchmarks/dlq_at_scale.py [--entries 100000] [--requeue-jobs 10000] [--repeat 3]
[--only dlq|requeue|purge] [--against DIR] (runs on BENCH_REDIS_URL, or a private embedded valkey-server;
prints a table; asserts nothing).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import (  # noqa: E402
    Figure,
    median,
    median_seconds,
    milliseconds,
    per_second,
    runs,
    seconds_text,
)
from benchmarks.round_trips import command_calls  # noqa: E402
from benchmarks.server import BenchServer, bench_server  # noqa: E402
from benchmarks.synthetic import make_entries, make_failed_jobs  # noqa: E402
from failure_handlers.dlq.filters import DlqFilter  # noqa: E402
from failure_handlers.dlq.store import DeadLetterQueue  # noqa: E402
from failure_handlers.jobs.status import job_status  # noqa: E402
from failure_handlers.runtime import connect  # noqa: E402

PREFIX = "bench:dlq:"
TTL = 7 * 86400
SAMPLES = 5  # calls per cycle of each fast read; the cycle's figure is their median
LIST_TARGET = 0.050
SHOW_TARGET = 0.010
STATS_TARGET = 2.0
PURGE_TARGET = 5.0
REQUEUE_RATE_TARGET = 1_000
REQUEUE_RATIO_TARGET = 3.0
SEARCH_TARGET = 0.200


@dataclass(frozen=True)
class Run:
    """One command: its wall time, its process' CPU time and the server's CPU time (seconds), and
    the server's commands (name -> calls; INFO left out)."""

    wall: float
    cpu: float
    server_cpu: float
    commands: dict[str, int] = field(default_factory=dict)
    usec: dict[str, int] = field(default_factory=dict)  # server microseconds by command (commandstats)

    @property
    def command_count(self) -> int:
        return sum(self.commands.values())


def run_cli(url: str, *args: str) -> float:
    """Wall time of `python ARGS` from the project root against `url` (raises if it fails)."""
    return measure_cli(url, *args).wall


def measure_cli(url: str, *args: str, root: Path = ROOT) -> Run:
    """`python ARGS` from the project root (or the checkout `root`) against `url`: wall, its own CPU
    and the server's CPU."""
    env = {**os.environ, "REDIS_URL": url, "DLQ_PREFIX": PREFIX, "DLQ_MAX_ENTRIES": "1000000", "LOG_LEVEL": "WARNING"}
    python = sys.executable
    if root != ROOT:
        env["PYTHONPATH"] = str(root)
        if (root / ".venv" / "bin" / "python").exists():
            python = str(root / ".venv" / "bin" / "python")
    server = connect(url)
    server_before = server_cpu(server)
    commands_before = command_calls(server)
    usec_before = command_usec(server)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run([python, *args], cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"benchmark command failed: {' '.join(args)}\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    server_seconds = server_cpu(server) - server_before
    commands_after = command_calls(server)
    commands = {
        name: calls - commands_before.get(name, 0)
        for name, calls in commands_after.items()
        if name != "info" and calls != commands_before.get(name, 0)
    }
    usec = {name: spent - usec_before.get(name, 0) for name, spent in command_usec(server).items() if name in commands}
    return Run(elapsed, cpu, server_seconds, commands, usec)


def command_usec(connection: Redis) -> dict[str, int]:
    """Microseconds the server spent per command so far (INFO commandstats `usec`; a script's
    includes the commands it ran, which are also counted under their own names)."""
    stats = connection.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["usec"]) for name, value in stats.items()}


def server_cpu(connection: Redis) -> float:
    figures = connection.info("cpu")
    return float(figures["used_cpu_user"]) + float(figures["used_cpu_sys"])


def dlq_cycle(server: BenchServer, entries: int) -> dict[str, float]:
    """One fill / read / purge cycle; seconds per metric (bytes for `memory`)."""
    connection = server.fresh()
    dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=entries * 2)
    memory_before = int(connection.info("memory")["used_memory"])
    started = time.perf_counter()
    dlq.add_many(make_entries(entries))
    figures = {"fill": time.perf_counter() - started}
    figures["memory"] = (int(connection.info("memory")["used_memory"]) - memory_before) / entries
    if dlq.count() != entries:
        raise RuntimeError(f"the DLQ holds {dlq.count()} entries, expected {entries}")
    newest = dlq.list(limit=1)[0].job_id
    by_exc = DlqFilter(exc="KeyError")
    search = DlqFilter(search="sku-99999")
    figures["list"] = median_seconds(lambda: dlq.list(limit=50), SAMPLES)
    figures["deep page"] = median_seconds(lambda: dlq.list(offset=entries // 2, limit=50), SAMPLES)
    figures["show"] = median_seconds(lambda: (dlq.get(newest), job_status(connection, newest)), SAMPLES)
    figures["stats"] = median_seconds(dlq.stats, SAMPLES)
    figures["by exc"] = median_seconds(lambda: dlq.list(limit=50, filters=by_exc), SAMPLES)
    figures["count by exc"] = median_seconds(lambda: dlq.count(by_exc), SAMPLES)
    figures["search"] = median_seconds(lambda: dlq.list(limit=50, filters=search), 1)
    scanned = dlq.select_ids(search)  # no index yet: a scan
    started = time.perf_counter()
    dlq.search_index.refresh()  # what the reconciler does on its passes
    figures["index"] = time.perf_counter() - started
    if dlq.select_ids(search) != scanned:
        raise RuntimeError("the search index and the scan disagree")
    figures["indexed search"] = median_seconds(lambda: dlq.list(limit=50, filters=search), SAMPLES)
    figures["cli list"] = run_cli(server.url, "scripts/dlq.py", "list")
    figures["cli stats"] = run_cli(server.url, "scripts/dlq.py", "stats")
    purge = measure_cli(server.url, "scripts/dlq.py", "purge", "--yes")
    figures["purge"], figures["purge cpu"], figures["purge server cpu"] = purge.wall, purge.cpu, purge.server_cpu
    if dlq.count() != 0:
        raise RuntimeError("purge left entries behind")
    return figures


def dlq_figures(server: BenchServer, entries: int, repeat: int) -> list[Figure]:
    """Item 4 (and the per-entry server memory of item 6), medians over `repeat` cycles."""
    cycles: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        for name, value in dlq_cycle(server, entries).items():
            cycles[name].append(value)
    section = f"4. The DLQ at {entries:,} entries"
    fill = cycles["fill"]

    def timing(
        name: str, metric: str, target: float | None = None, unit: Callable[[float], str] = milliseconds
    ) -> Figure:
        value = median(cycles[name])
        if target is None:
            return Figure(section, metric, runs(cycles[name], unit))
        return Figure(section, metric, runs(cycles[name], unit), target=f"< {unit(target)}", met=value < target)

    return [
        Figure(
            section,
            f"fill {entries:,} entries (`add_many`, 1,000 Lua adds per round trip)",
            f"{runs(fill, seconds_text)}, {per_second(entries / median(fill))}",
        ),
        timing("list", "`list`, first page of 50 (library)", LIST_TARGET),
        timing("deep page", f"`list`, page of 50 at offset {entries // 2:,}"),
        timing("show", "`show`: entry + RQ job status (library)", SHOW_TARGET),
        timing("stats", "`stats` (library)", STATS_TARGET),
        timing("by exc", "`list --exc-type KeyError`, first page (library)"),
        timing("count by exc", "`count --exc-type KeyError` (library)"),
        timing("search", "`list --search sku-99999` without a search index: scans every entry, 1 call per cycle"),
        timing(
            "index", f"build the search index of {entries:,} entries (the reconciler's `refresh`)", unit=seconds_text
        ),
        timing("indexed search", "`list --search sku-99999` through the search index (library)", SEARCH_TARGET),
        timing("cli list", "`python scripts/dlq.py list` wall time, interpreter start included"),
        timing("cli stats", "`python scripts/dlq.py stats` wall time, interpreter start included", STATS_TARGET),
        timing("purge", f"`python scripts/dlq.py purge --yes` of {entries:,}, wall time", PURGE_TARGET, seconds_text),
        timing("purge cpu", "the purge's CPU time: its process", unit=seconds_text),
        timing("purge server cpu", "the purge's CPU time: the server's (INFO cpu)", unit=seconds_text),
        Figure(
            "6. Memory per DLQ entry",
            f"server memory per entry at {entries:,} entries (used_memory growth / entries: entry + index members)",
            runs(cycles["memory"], lambda size: f"{size / 1024:.1f} KB"),
        ),
    ]


def purge_cycle(server: BenchServer, entries: int, root: Path = ROOT) -> Run:
    """Fill the DLQ with `entries` entries (no RQ jobs, as in `dlq_cycle`) and `dlq.py purge --yes` it
    (with the CLI of the checkout `root`)."""
    connection = server.fresh()
    dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=entries * 2)
    dlq.add_many(make_entries(entries))
    if dlq.count() != entries:
        raise RuntimeError(f"the DLQ holds {dlq.count()} entries, expected {entries}")
    purge = measure_cli(server.url, "scripts/dlq.py", "purge", "--yes", root=root)
    if dlq.count() != 0 or connection.keys(f"{PREFIX}entry:*") or connection.keys(f"{PREFIX}by:*"):
        raise RuntimeError("purge left entries or index keys behind")
    return purge


def purge_figures(server: BenchServer, entries: int, repeat: int, against: Path | None = None) -> list[Figure]:
    """`dlq.py purge --yes` of `entries`, alone: wall, CPU (command, server), commands per entry; with
    `against`, that checkout's purge too, cycle by cycle, which one goes first alternating."""
    ours: list[Run] = []
    theirs: list[Run] = []
    for cycle in range(repeat):
        if against is not None and cycle % 2 == 1:
            theirs.append(purge_cycle(server, entries, against))
        ours.append(purge_cycle(server, entries))
        if against is not None and cycle % 2 == 0:
            theirs.append(purge_cycle(server, entries, against))
    for root, timings in ((ROOT, ours), (against, theirs)):
        if timings:
            print(
                f"purge of {entries:,} by {root}, last cycle:\n{purge_command_table(timings[-1], entries)}",
                file=sys.stderr,
            )
    section = f"4. The DLQ at {entries:,} entries (`--only purge`; baseline: the CLI of {against})"

    def row(
        metric: str,
        pick: Callable[[Run], float],
        unit: Callable[[float], str],
        target: str = "",
        met: bool | None = None,
    ) -> Figure:
        values = [pick(run) for run in ours]
        baseline = [pick(run) for run in theirs]
        ratio = median(baseline) / median(values) if baseline and median(values) else None
        shown = runs(baseline, unit) if baseline else ""
        return Figure(section, metric, runs(values, unit), shown, ratio, target=target, met=met)

    walls = [run.wall for run in ours]
    return [
        row(
            f"`python scripts/dlq.py purge --yes` of {entries:,}, wall time",
            lambda run: run.wall,
            seconds_text,
            target=f"< {seconds_text(PURGE_TARGET)}",
            met=median(walls) < PURGE_TARGET,
        ),
        row("the purge's CPU time: its process", lambda run: run.cpu, seconds_text),
        row("the purge's CPU time: the server's (INFO cpu)", lambda run: run.server_cpu, seconds_text),
        row("the purge's CPU time: process + server", lambda run: run.cpu + run.server_cpu, seconds_text),
        row(
            "the purge's server commands per entry (INFO commandstats, Lua's included)",
            lambda run: run.command_count / entries,
            _count,
        ),
    ]


def purge_command_table(run: Run, entries: int) -> str:
    """One purge's server commands per entry, by command, with the server's µs per entry (commandstats:
    a script's µs include the commands it ran; wall-clock µs, inflated on a loaded machine)."""
    lines = ["| command | calls per entry | server µs per entry |", "|---|---|---|"]
    for name in sorted(run.commands, key=lambda name: -run.usec.get(name, 0)):
        lines.append(f"| {name} | {run.commands[name] / entries:.3f} | {run.usec.get(name, 0) / entries:.2f} |")
    return "\n".join(lines)


def requeue_cycle(server: BenchServer, jobs: int, ours_first: bool = False) -> tuple[Run, Run]:
    """(rq's run, ours) requeueing `jobs` failed jobs each, on identical data; `ours_first`: ours runs first."""
    connection = server.fresh()
    dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=jobs * 2)
    make_failed_jobs(connection, "bench-rq", jobs)
    make_failed_jobs(connection, "bench-ours", jobs, dlq=dlq)

    def rq_run() -> Run:
        return measure_cli(server.url, "-m", "rq.cli", "requeue", "--all", "--queue", "bench-rq", "-u", server.url)

    def our_run() -> Run:
        return measure_cli(server.url, "scripts/requeue.py", "--all", "--queue", "bench-ours")

    if ours_first:
        ours = our_run()
        rq = rq_run()
    else:
        rq = rq_run()
        ours = our_run()
    for queue in ("bench-rq", "bench-ours"):
        if connection.llen(f"rq:queue:{queue}") != jobs:
            raise RuntimeError(f"requeue on {queue} did not requeue every job")
    return rq, ours


def requeue_figures(server: BenchServer, jobs: int, repeat: int) -> list[Figure]:
    """Item 5: `scripts/requeue.py --all` vs `rq requeue --all --queue ...`, medians over `repeat` cycles."""
    timings = [requeue_cycle(server, jobs, ours_first=cycle % 2 == 1) for cycle in range(repeat)]
    print(f"server commands per job, last cycle:\n{command_table(timings, jobs)}", file=sys.stderr)
    rq_rates = [jobs / rq.wall for rq, _ in timings]
    our_rates = [jobs / ours.wall for _, ours in timings]
    ratio = median(our_rates) / median(rq_rates)
    section = "5. Bulk requeue"

    def cpu_row(metric: str, pick: Callable[[Run], float]) -> Figure:
        ours = [pick(run) for _, run in timings]
        theirs = [pick(run) for run, _ in timings]
        return Figure(
            section,
            metric,
            runs(ours, milliseconds),
            runs(theirs, milliseconds),
            median(theirs) / median(ours) if median(ours) else None,
        )

    return [
        Figure(
            section,
            f"requeue {jobs:,} failed jobs, wall time: `scripts/requeue.py --all` vs `rq requeue --all` (jobs/s)",
            runs(our_rates, per_second),
            runs(rq_rates, per_second),
            ratio,
            target=f">= {REQUEUE_RATIO_TARGET:.1f}x and >= {REQUEUE_RATE_TARGET:,} jobs/s",
            met=ratio >= REQUEUE_RATIO_TARGET and median(our_rates) >= REQUEUE_RATE_TARGET,
        ),
        cpu_row(f"requeue {jobs:,}: the command's CPU time (ratio: rq's / ours)", lambda run: run.cpu),
        cpu_row(f"requeue {jobs:,}: the server's CPU time (ratio: rq's / ours)", lambda run: run.server_cpu),
        cpu_row(
            f"requeue {jobs:,}: CPU time, command + server (ratio: rq's / ours)", lambda run: run.cpu + run.server_cpu
        ),
        Figure(
            section,
            f"requeue {jobs:,}: server commands per job (INFO commandstats, Lua's included; ratio: rq's / ours)",
            runs([ours.command_count / jobs for _, ours in timings], _count),
            runs([rq.command_count / jobs for rq, _ in timings], _count),
            median([rq.command_count for rq, _ in timings]) / max(1, median([o.command_count for _, o in timings])),
        ),
    ]


def _count(value: float) -> str:
    return f"{value:.1f}"


def command_table(timings: list[tuple[Run, Run]], jobs: int) -> str:
    """The last cycle's commands per job, by command: rq's and ours (for benchmarks/NOTES.md)."""
    rq, ours = timings[-1]
    names = sorted(set(rq.commands) | set(ours.commands), key=lambda name: -(ours.commands.get(name, 0)))
    lines = ["| command | ours per job | rq per job |", "|---|---|---|"]
    for name in names:
        lines.append(f"| {name} | {ours.commands.get(name, 0) / jobs:.3f} | {rq.commands.get(name, 0) / jobs:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--requeue-jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only", choices=("dlq", "requeue", "purge"), help="Only item 4 (dlq), item 5 (requeue), or the purge."
    )
    parser.add_argument("--against", type=Path, help="--only purge: also purge with the CLI of this checkout.")
    options = parser.parse_args()
    figures: list[Figure] = []
    with bench_server() as server:
        if options.only == "purge":
            against = options.against.resolve() if options.against else None
            figures += purge_figures(server, options.entries, options.repeat, against)
        if options.only in (None, "dlq"):
            figures += dlq_figures(server, options.entries, options.repeat)
        if options.only in (None, "requeue"):
            figures += requeue_figures(server, options.requeue_jobs, options.repeat)
    print("| metric | ours | baseline | ratio | target |\n|---|---|---|---|---|")
    for figure in figures:
        ratio = f"{figure.ratio:.2f}" if figure.ratio is not None else ""
        print(f"| {figure.metric} | {figure.ours} | {figure.baseline} | {ratio} | {figure.target} |")


if __name__ == "__main__":
    main()
