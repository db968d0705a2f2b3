"""`make profile-handler`: where the failure handler's time goes, in one step.

Runs always-failing jobs (final failures, no retries) and, separately, jobs failing with retries
left (retried attempts) through an in-process `SimpleWorker` on a private embedded server (or
`BENCH_REDIS_URL`), with cProfile switched on only inside `on_failure` (RQ resolves the callback by
its dotted name, so the wrapper is what runs). Prints the handler's median time per call and the
functions that take it, by own time and by cumulative time.

    python -m benchmarks.profile_handler [--jobs 800] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
from pathlib import Path

from redis import Redis
from rq import Queue, Retry, SimpleWorker

from benchmarks import log_files, tasks
from benchmarks.handler_cost import timed_handler
from benchmarks.server import apply_bench_settings, bench_server
from worker_tasks import enqueue

QUEUE = "default"


def run_jobs(connection: Redis, jobs: int, retried: bool, profile: cProfile.Profile) -> list[float]:
    """Enqueue `jobs` failing jobs (final failures, or failing with retries left) and work them off."""
    func, retry = (tasks.fails_until_last_retry, Retry(max=3, interval=0)) if retried else (tasks.always_fails, None)
    with connection.pipeline() as pipe:
        for n in range(jobs):
            enqueue(func, n, connection=connection, pipeline=pipe, retry=retry)
        pipe.execute()
    with timed_handler(profile) as samples:
        SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=True)
    return samples


def report(title: str, samples: list[float], profile: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    median_us = statistics.median(samples) * 1e6
    out.write(f"== {title}: {len(samples):,} handler calls, median {median_us:,.0f} µs per call\n")
    for order in ("tottime", "cumulative"):
        out.write(f"-- top {top} by {order}\n")
        stats = pstats.Stats(profile, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(top)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=800, help="failing jobs per profile [800]")
    parser.add_argument("--top", type=int, default=25, help="rows per table [25]")
    options = parser.parse_args()
    apply_bench_settings()
    final_profile, retried_profile = cProfile.Profile(), cProfile.Profile()
    with bench_server() as server, tempfile.TemporaryDirectory(prefix="profile-logs-") as log_dir:
        print(f"profiling the failure handler on {server.description}", file=sys.stderr)
        with log_files.logs_to_files(Path(log_dir)):
            run_jobs(server.fresh(), 20, retried=False, profile=cProfile.Profile())  # warm-up: imports, script load
            final = run_jobs(server.fresh(), options.jobs, retried=False, profile=final_profile)
            retried = run_jobs(server.fresh(), options.jobs // 3, retried=True, profile=retried_profile)
    print(report("final failures (DLQ write)", final, final_profile, options.top))
    print(report("retried attempts (job.meta only)", retried, retried_profile, options.top))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
