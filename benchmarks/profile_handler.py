"""`make profile-handler`: where the failure handler's time goes, in one step.

Runs always-failing jobs (final failures, no retries) and, separately, jobs failing with retries
left (retried attempts) through an in-process `SimpleWorker` on a private embedded server (or
`BENCH_REDIS_URL`), with cProfile switched on only inside `on_failure` (RQ resolves the callback by
its dotted name, so the wrapper is what runs). Prints the handler's median time per call and the
functions that take it, by own time and by cumulative time.

The profiler's clock is this process' CPU time by default (`--timer cpu`): on a loaded machine, wall
time inside `sendall`/`recv` is mostly the wait for the server and for a CPU, not the handler's work.
`--timer wall` gives the old view (where the handler's wall time goes, waits included). The CPU clock
costs a system call per profiled event, so absolute figures are inflated; compare shares and counts.

    python -m benchmarks.profile_handler [--jobs 800] [--top 25] [--timer cpu|wall]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis import Redis
from rq import Queue, Retry, SimpleWorker

from benchmarks import log_files, tasks
from benchmarks.handler_cost import timed_handler
from benchmarks.server import apply_bench_settings, bench_server
from failure_handlers import handler
from worker_tasks import enqueue

QUEUE = "default"


def run_jobs(connection: Redis, jobs: int, retried: bool, profile: cProfile.Profile | None) -> list[float]:
    """Enqueue `jobs` failing jobs (final failures, or failing with retries left) and work them off;
    the handler's wall seconds per call."""
    func, retry = (tasks.fails_until_last_retry, Retry(max=3, interval=0)) if retried else (tasks.always_fails, None)
    with connection.pipeline() as pipe:
        for n in range(jobs):
            enqueue(func, n, connection=connection, pipeline=pipe, retry=retry)
        pipe.execute()
    with timed_handler(profile) as samples:
        SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=True)
    return samples


@contextmanager
def cpu_timed() -> Iterator[list[float]]:
    """This process' CPU seconds of each `on_failure` call (unprofiled), replaced by its dotted name."""
    original = handler.on_failure
    samples: list[float] = []

    def timed(*args: Any) -> None:
        started = time.process_time()
        try:
            original(*args)
        finally:
            samples.append(time.process_time() - started)

    handler.on_failure = timed
    try:
        yield samples
    finally:
        handler.on_failure = original


def report(title: str, samples: list[float], cpu: list[float], profile: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    median_us = statistics.median(samples) * 1e6
    cpu_us = statistics.median(cpu) * 1e6
    out.write(
        f"== {title}: {len(samples):,} profiled handler calls, median {median_us:,.0f} µs wall per call; "
        f"unprofiled: {len(cpu):,} calls, median {cpu_us:,.0f} µs CPU per call "
        f"(mean {statistics.mean(cpu) * 1e6:,.0f})\n"
    )
    for order in ("tottime", "cumulative"):
        out.write(f"-- top {top} by {order}\n")
        stats = pstats.Stats(profile, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(top)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=800, help="failing jobs per profile [800]")
    parser.add_argument("--top", type=int, default=25, help="rows per table [25]")
    parser.add_argument("--timer", choices=("cpu", "wall"), default="cpu", help="the profiler's clock [cpu]")
    options = parser.parse_args()
    apply_bench_settings()
    clock = time.process_time if options.timer == "cpu" else time.perf_counter
    final_profile, retried_profile = cProfile.Profile(clock), cProfile.Profile(clock)
    with bench_server() as server, tempfile.TemporaryDirectory(prefix="profile-logs-") as log_dir:
        print(f"profiling the failure handler on {server.description}", file=sys.stderr)
        with log_files.logs_to_files(Path(log_dir)):
            run_jobs(server.fresh(), 20, retried=False, profile=None)  # warm-up: imports, script load
            run_jobs(server.fresh(), 20, retried=True, profile=None)
            with cpu_timed() as final_cpu:
                run_jobs(server.fresh(), options.jobs, retried=False, profile=None)
            with cpu_timed() as retried_cpu:
                run_jobs(server.fresh(), options.jobs // 3, retried=True, profile=None)
            final = run_jobs(server.fresh(), options.jobs, retried=False, profile=final_profile)
            retried = run_jobs(server.fresh(), options.jobs // 3, retried=True, profile=retried_profile)
    print(f"profiler clock: {'CPU time of this process' if options.timer == 'cpu' else 'wall time'}")
    print(report("final failures (DLQ write)", final, final_cpu, final_profile, options.top))
    print(report("retried attempts (job.meta only)", retried, retried_cpu, retried_profile, options.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
