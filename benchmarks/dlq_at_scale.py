"""The DLQ at scale: list/show/stats/filter/purge on 100,000 entries, and bulk requeue vs `rq requeue --all`.

Usage: python benchmarks/dlq_at_scale.py [--entries 100000] [--requeue-jobs 10000] [--repeat 5]
Runs on BENCH_REDIS_URL, or on a private embedded valkey-server. Prints medians; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.synthetic import make_entries, make_failed_jobs  # noqa: E402
from failure_handlers.dead_letter_queue import DeadLetterQueue  # noqa: E402
from failure_handlers.dlq_filters import DlqFilter  # noqa: E402
from failure_handlers.embedded_redis import embedded_server  # noqa: E402
from failure_handlers.job_status import job_status  # noqa: E402
from failure_handlers.runtime import connect  # noqa: E402

PREFIX = "bench:dlq:"
TTL = 7 * 86400


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def run_cli(url: str, *args: str) -> float:
    env = {**os.environ, "REDIS_URL": url, "DLQ_PREFIX": PREFIX, "DLQ_MAX_ENTRIES": "1000000", "LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{result.stderr}")
    return elapsed


def row(metric: str, value: str, target: str = "") -> None:
    print(f"| {metric} | {value} | {target} |", flush=True)


def dlq_figures(url: str, entries: int, repeat: int) -> None:
    connection = connect(url)
    connection.flushdb()
    dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=entries * 2)
    started = time.perf_counter()
    dlq.add_many(make_entries(entries))
    fill = time.perf_counter() - started
    row(f"fill {entries:,} entries (pipelined Lua add)", f"{fill:.1f} s ({entries / fill:,.0f} entries/s)")
    assert dlq.count() == entries
    newest = dlq.list(limit=1)[0].job_id
    row(
        "`list` first page of 50 (library)",
        f"{median_seconds(lambda: dlq.list(limit=50), repeat) * 1000:.1f} ms",
        "< 50 ms",
    )
    row(
        "`list` page 1,000 of 50 (offset 49,950)",
        f"{median_seconds(lambda: dlq.list(offset=49_950, limit=50), repeat) * 1000:.1f} ms",
    )
    show = median_seconds(lambda: (dlq.get(newest), job_status(connection, newest)), repeat)
    row("`show` (library: entry + job status)", f"{show * 1000:.2f} ms", "< 10 ms")
    row("`stats` (library)", f"{median_seconds(dlq.stats, repeat) * 1000:.1f} ms", "< 2 s")
    by_exc = DlqFilter(exc="KeyError")
    row(
        "`list --exc-type KeyError` first page",
        f"{median_seconds(lambda: dlq.list(limit=50, filters=by_exc), repeat) * 1000:.1f} ms",
    )
    search = DlqFilter(search="sku-99999")
    row(
        "`list --search sku-99999` (scans every message)",
        f"{median_seconds(lambda: dlq.list(limit=50, filters=search), 1) * 1000:.0f} ms",
    )
    row(
        "`python scripts/dlq.py list` wall time, incl. interpreter start",
        f"{run_cli(url, 'scripts/dlq.py', 'list') * 1000:.0f} ms",
    )
    row("`python scripts/dlq.py stats` wall time", f"{run_cli(url, 'scripts/dlq.py', 'stats') * 1000:.0f} ms")
    purge = run_cli(url, "scripts/dlq.py", "purge", "--yes", "--keep-job")
    row(f"`dlq.py purge --yes` of {entries:,} (wall time)", f"{purge:.2f} s", "< 5 s")
    assert dlq.count() == 0


def requeue_figures(url: str, jobs: int) -> None:
    connection = connect(url)
    connection.flushdb()
    dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=jobs * 2)
    make_failed_jobs(connection, "bench-rq", jobs)
    make_failed_jobs(connection, "bench-ours", jobs, dlq=dlq)
    rq_seconds = run_cli(url, "-m", "rq.cli", "requeue", "--all", "--queue", "bench-rq", "-u", url)
    ours_seconds = run_cli(url, "scripts/requeue.py", "--all", "--queue", "bench-ours")
    assert connection.llen("rq:queue:bench-rq") == jobs, "rq requeue did not requeue every job"
    assert connection.llen("rq:queue:bench-ours") == jobs, "our requeue did not requeue every job"
    row(
        f"`rq requeue --all` of {jobs:,} failed jobs (wall time)",
        f"{rq_seconds:.2f} s ({jobs / rq_seconds:,.0f} jobs/s)",
    )
    row(
        f"`scripts/requeue.py --all` of {jobs:,} (wall time)",
        f"{ours_seconds:.2f} s ({jobs / ours_seconds:,.0f} jobs/s), {rq_seconds / ours_seconds:.2f}x rq",
        ">= 1,000 jobs/s and >= 1.0x rq",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--requeue-jobs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    url = os.environ.get("BENCH_REDIS_URL")
    print("| metric | measured (median) | target |\n|---|---|---|")
    if url:
        dlq_figures(url, options.entries, options.repeat)
        requeue_figures(url, options.requeue_jobs)
        return
    with embedded_server() as embedded_url:
        dlq_figures(embedded_url, options.entries, options.repeat)
        requeue_figures(embedded_url, options.requeue_jobs)


if __name__ == "__main__":
    main()
