"""`python -m benchmarks [--quick] [--output FILE]`: the whole suite, one server, one report.

Full run (about 30 minutes on 2 cores, the storm of 20,000 jobs included), written to BENCHMARKS.md:
ours and plain RQ run in 5 interleaved pairs (the storm: one pair); other figures are medians of 3 runs.
`--quick` (under a minute) runs every benchmark once at small sizes: a smoke test
that the benchmark code works (CI runs it); it asserts nothing about speed and, unless `--output`
is given, writes no file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import (  # noqa: E402
    archive_speed,
    dashboard_speed,
    dlq_at_scale,
    entry_memory,
    handler_cost,
    log_files,
    report,
    round_trips,
    scrape,
    server_instructions,
    server_limit,
    storm,
    worker_instructions,
    worker_throughput,
)
from benchmarks.figures import Figure  # noqa: E402
from benchmarks.server import BenchConfigError, BenchServer, apply_bench_settings, bench_server  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    repeat: int = 3
    pairs: int = 5  # interleaved ours/plain pairs where the two are compared
    worker_jobs: int = 2_000  # SimpleWorker runs
    forking_jobs: int = 1_000  # forking Worker runs: ~15 ms a job, 2,000 would take ~400 s of the budget
    retry_jobs: int = 200
    final_jobs: int = 500
    typical_entries: int = 50
    huge_bytes: int = 10_000_000
    dlq_entries: int = 100_000
    requeue_jobs: int = 10_000
    limit_ops: int = 5_000
    archive_rows: int = 10_000
    storm_jobs: int = storm.FULL_JOBS  # 4 worker processes, ours and plain RQ once each
    storm_pairs: int = 1
    instruction_adds: int = 2_000  # under valgrind: about 50 times slower than native
    instruction_jobs: int = 500
    worker_instruction_jobs: tuple[int, int] = (10, 30)  # the small and the large counted burst
    worker_instruction_rows: str = "final,retried"


QUICK = Sizes(
    repeat=1,
    pairs=1,
    worker_jobs=100,
    forking_jobs=100,
    retry_jobs=20,
    final_jobs=20,
    typical_entries=5,
    huge_bytes=1_000_000,
    dlq_entries=2_000,
    requeue_jobs=500,
    limit_ops=500,
    archive_rows=500,
    storm_jobs=500,
    instruction_adds=100,
    instruction_jobs=50,
    worker_instruction_jobs=(1, 2),
    worker_instruction_rows="",  # none: ~1 min of valgrind, and CI's budget is 30 min (make bench-worker-instructions)
)


def suite(server: BenchServer, sizes: Sizes, log_dir: Path, load: report.LoadWatch) -> list[Figure]:
    steps: list[tuple[str, Callable[[], list[Figure]]]] = [
        (
            "1-2 worker throughput",
            lambda: worker_throughput.figures(server, sizes.worker_jobs, sizes.forking_jobs, sizes.pairs),
        ),
        ("2 handler round trips", lambda: round_trips.figures(server)),
        ("2 handler time", lambda: handler_cost.final_failure_figures(server, sizes.final_jobs, sizes.pairs)),
        ("3 retry path", lambda: handler_cost.figures(server, sizes.retry_jobs, sizes.pairs)),
        ("4 DLQ at scale", lambda: dlq_at_scale.dlq_figures(server, sizes.dlq_entries, sizes.repeat)),
        ("5 bulk requeue", lambda: dlq_at_scale.requeue_figures(server, sizes.requeue_jobs, sizes.repeat)),
        ("6 entry memory", lambda: entry_memory.figures(server, sizes.huge_bytes, sizes.typical_entries)),
        ("7 server limit", lambda: server_limit.figures(server, sizes.limit_ops, sizes.repeat)),
        ("8 dashboard", lambda: dashboard_speed.figures(server, sizes.dlq_entries, sizes.repeat)),
        ("9 /metrics scrape", lambda: scrape.figures(server, sizes.dlq_entries)),
        ("10 archiver", lambda: archive_speed.throughput_figures(server, sizes.archive_rows, sizes.repeat)),
        (
            "10 failure path, archive on/off",
            lambda: archive_speed.failure_path_figures(server, sizes.final_jobs, sizes.pairs),
        ),
        ("11 failure storm", lambda: storm.figures(server, sizes.storm_jobs, sizes.storm_pairs)),
        ("12 server instructions", lambda: server_instructions.figures(sizes.instruction_adds, sizes.instruction_jobs)),
    ]
    if sizes.worker_instruction_rows:
        parts = set(sizes.worker_instruction_rows.split(","))  # not `rows`: the loop below reuses that name
        steps.append(
            ("13 worker instructions", lambda: worker_instructions.figures(*sizes.worker_instruction_jobs, parts))
        )
    figures: list[Figure] = []
    with log_files.logs_to_files(log_dir):
        for name, step in steps:
            started = time.perf_counter()
            rows = step()
            figures += rows
            # Each step's rows as soon as they exist, so a later crash loses nothing.
            print(f"== {name}: {time.perf_counter() - started:.0f} s, load {load.sample():.2f}", file=sys.stderr)
            print(report.table(rows).split("\n", 2)[2], file=sys.stderr, flush=True)
    return sorted(figures, key=lambda figure: figure.section.split(".")[0].zfill(2))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each: a smoke test (< 1 min)")
    parser.add_argument("--output", type=Path, help="the report to write [default: BENCHMARKS.md; none with --quick]")
    options = parser.parse_args()
    output = options.output or (None if options.quick else ROOT / "BENCHMARKS.md")
    sizes = QUICK if options.quick else Sizes()
    command = "make bench ARGS=--quick" if options.quick else "make bench"
    started = time.perf_counter()
    load = report.LoadWatch()
    apply_bench_settings()
    try:
        with bench_server() as server, tempfile.TemporaryDirectory(prefix="bench-logs-") as log_dir:
            print(f"benchmarks on {server.description}", file=sys.stderr, flush=True)
            figures = suite(server, sizes, Path(log_dir), load)
            server_text = f"{server.version()}, {server.description}"
    except BenchConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    run = report.RunInfo(command, server_text, time.perf_counter() - started, options.quick, load.describe())
    print(report.table(figures))
    print()
    print(report.summary(figures))
    if output is not None:
        report.write(output, figures, run)
        print(f"wrote {output} ({run.wall_seconds:.0f} s)", file=sys.stderr)
    else:
        print(f"done in {run.wall_seconds:.0f} s (no report written)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
