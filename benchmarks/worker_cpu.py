"""`python benchmarks/worker_cpu.py`: issue 20 item 3 alone, the worker's CPU per failure, ours vs plain RQ.

- **final** / **retried**: interleaved ours/plain pairs of in-process `SimpleWorker` bursts (which one
  goes first alternating, a fresh database each), always-failing jobs without retries (final
  failures) or jobs failing 3 times then succeeding (retried attempts). This process is the worker
  and its work-horse (`RUSAGE_SELF`; a `SimpleWorker` forks nothing), less what an empty burst costs.
  Extra per final failure: (ours - plain) / plain per failed job; per retried attempt: ours' extra
  per retried attempt / plain's CPU per run (`cost.retried_attempt_extras`). Target: <= 10 %, the
  median of the pairs; the verdict sets the lowest and highest pair aside (`cost.judge_at_most`).
  The handler's own CPU per call (`time.process_time` around `on_failure`, unprofiled) is taken in
  the same runs of ours.
- **forking**: the same for real `rq worker --burst` subprocesses (forking `Worker`: CPU of the
  worker and its work-horses, `os.wait4`), final failures only (`worker_throughput.compare`).

Built from the pieces `make bench` uses (`handler_cost`, `worker_throughput`, `cost`), so a row here
means what the row of BENCHMARKS.md means. To compare two checkouts, run this file with the other
checkout first on the path: the library, `worker_tasks` and the benchmark modules then come from it
(and so do the `rq worker` subprocesses, which inherit PYTHONPATH):

    nice -n 19 .venv/bin/python benchmarks/worker_cpu.py [--jobs 400] [--pairs 5] [--only final,retried,forking]
    PYTHONPATH=/path/to/other/checkout nice -n 19 .venv/bin/python benchmarks/worker_cpu.py
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from redis import Redis

if __package__ in (None, ""):  # run as a file: after PYTHONPATH, so a checkout named there is what is measured
    sys.path.append(str(Path(__file__).resolve().parents[1]))

import failure_handlers  # noqa: E402
from benchmarks import log_files, report  # noqa: E402
from benchmarks.cost import (  # noqa: E402
    COMMANDS,
    SERVER_CPU,
    WORKER_CPU,
    RunCost,
    cost_figure,
    extra_figure,
    retried_attempt_extras,
)
from benchmarks.figures import Figure, median, microseconds  # noqa: E402
from benchmarks.handler_cost import RETRIES, burst_overhead, enqueue_flaky, measured_burst  # noqa: E402
from benchmarks.profile_handler import cpu_timed  # noqa: E402
from benchmarks.server import BenchServer, apply_bench_settings, bench_server  # noqa: E402
from benchmarks.worker_throughput import JobPath, compare, cost_rows, enqueue_jobs  # noqa: E402

WORKER_CPU_EXTRA = 0.10  # issue 20 item 3, final failures and retried attempts alike


def _enqueue(server: BenchServer, jobs: int, ours: bool, retried: bool) -> Redis:
    connection = server.fresh()
    if retried:
        enqueue_flaky(connection, jobs, ours)
    else:
        enqueue_jobs(connection, JobPath.FAILURE, jobs, ours)
    return connection


def in_process_pairs(server: BenchServer, jobs: int, pairs: int, retried: bool) -> list[Figure]:
    """`pairs` interleaved ours/plain in-process `SimpleWorker` bursts of `jobs` jobs."""
    units = jobs * (RETRIES + 1) if retried else jobs  # runs (executions) per burst
    handled = jobs * RETRIES if retried else jobs  # handler calls per burst of ours
    for ours in (True, False):  # warm-up: imports, scripts loaded, log files opened
        measured_burst(_enqueue(server, 5, ours, retried))
    overhead = burst_overhead(server, 3)
    costs: dict[bool, list[RunCost]] = {True: [], False: []}
    handler_cpu: list[float] = []  # median CPU per handler call, per run of ours
    for pair in range(pairs):
        for ours in (True, False) if pair % 2 == 0 else (False, True):
            connection = _enqueue(server, jobs, ours, retried)
            with cpu_timed() as calls:
                run = measured_burst(connection) - overhead
            if len(calls) != (handled if ours else 0):
                raise RuntimeError(f"expected {handled if ours else 0} handler calls, saw {len(calls)}")
            costs[ours].append(RunCost(units, run.cpu_seconds, run.server.cpu_seconds, run.server.commands))
            if ours:
                handler_cpu.append(median(calls))
    ours_runs, plain_runs = costs[True], costs[False]
    what = "retried attempt" if retried else "final failure"
    section = f"3. Worker CPU per {what}"
    where = (
        f"in-process `SimpleWorker`, {jobs:,} jobs failing {RETRIES} times then succeeding, per run"
        if retried
        else f"in-process `SimpleWorker`, {jobs:,} always-failing jobs, per job"
    )
    if retried:
        worker = extra_figure(
            section,
            f"worker CPU, {where} (RUSAGE_SELF); extra = ours' extra per retried attempt / plain's per run",
            [run.worker_per_unit for run in ours_runs],
            [run.worker_per_unit for run in plain_runs],
            retried_attempt_extras([r.worker_cpu for r in ours_runs], [r.worker_cpu for r in plain_runs], RETRIES),
            WORKER_CPU,
            WORKER_CPU_EXTRA,
            unit=what,
        )
    else:
        worker = cost_figure(
            section, f"worker CPU, {where} (RUSAGE_SELF)", WORKER_CPU, ours_runs, plain_runs, WORKER_CPU_EXTRA
        )
    return [
        worker,
        Figure(
            section,
            f"handler CPU per {what} (process_time around `on_failure`, unprofiled), median of the runs' medians",
            microseconds(median(handler_cpu)),
            spread=f"runs {', '.join(microseconds(value) for value in handler_cpu)}",
        ),
        cost_figure(section, f"server CPU, {where} (INFO cpu)", SERVER_CPU, ours_runs, plain_runs),
        cost_figure(section, f"server commands, {where} (INFO commandstats)", COMMANDS, ours_runs, plain_runs),
    ]


def forking_pairs(server: BenchServer, jobs: int, pairs: int) -> list[Figure]:
    """Final failures through real `rq worker --burst` subprocesses (forking `Worker`), interleaved pairs."""
    comparison = compare(server, JobPath.FAILURE, None, jobs, pairs)
    label = f"forking `Worker`, `rq worker --burst`, {jobs:,} always-failing jobs"
    return cost_rows("3. Worker CPU per final failure, forking `rq worker --burst`", label, comparison, judged=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400, help="always-failing jobs per in-process burst [400]")
    parser.add_argument("--forking-jobs", type=int, default=200, help="jobs per forking worker run [200]")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved ours/plain pairs [5]")
    parser.add_argument("--only", default="final,retried,forking", help="which rows, comma-separated")
    options = parser.parse_args()
    parts = set(options.only.split(","))
    apply_bench_settings()
    load = report.LoadWatch()
    figures: list[Figure] = []
    with bench_server() as server, tempfile.TemporaryDirectory(prefix="worker-cpu-logs-") as log_dir:
        print(f"library: {Path(failure_handlers.__file__).parent}; server: {server.description}", file=sys.stderr)
        with log_files.logs_to_files(Path(log_dir)):
            if "final" in parts:
                figures += in_process_pairs(server, options.jobs, options.pairs, retried=False)
                load.sample()
            if "retried" in parts:
                figures += in_process_pairs(server, max(1, options.jobs // RETRIES), options.pairs, retried=True)
                load.sample()
        if "forking" in parts:
            figures += forking_pairs(server, options.forking_jobs, options.pairs)
            load.sample()
    print(f"library: {Path(failure_handlers.__file__).parent}; {load.describe()}")
    print(report.table(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
