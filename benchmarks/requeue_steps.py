"""Where a bulk requeue's CPU goes, step by step (issue 20 item 5).

Fills a private embedded server (or `BENCH_REDIS_URL`) with `--jobs` failed jobs with DLQ entries,
then runs `rq-dlq requeue --all --queue bench-ours` in this process with each step of the
`Requeuer` (and the selection, the claim, the reconciliation pass) wrapped in a `time.process_time`
counter: CPU seconds per step, no profiler overhead. Imports are done before the run starts.

    python -m benchmarks.requeue_steps [--jobs 10000]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from rq import Queue

from benchmarks.dlq_at_scale import PREFIX, TTL
from benchmarks.server import bench_server
from benchmarks.synthetic import make_failed_jobs
from failure_handlers.cli import requeue_main
from failure_handlers.dlq.claims import DlqClaims
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.reconciler import Reconciler
from failure_handlers.operations.requeue import Requeuer

QUEUE = "bench-ours"
STEPS: list[tuple[type, str]] = [
    (DeadLetterQueue, "select_ids"),
    (Reconciler, "run"),
    (Requeuer, "_fetch"),
    (Requeuer, "_already_processed"),
    (DlqClaims, "claim"),
    (Requeuer, "_prepare"),
    (Requeuer, "_enqueue"),
]


def timed(totals: dict[str, float], label: str, method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return method(*args, **kwargs)
        finally:
            totals[label] = totals.get(label, 0.0) + time.process_time() - started

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    options = parser.parse_args()
    totals: dict[str, float] = {}
    for owner, name in STEPS:
        setattr(owner, name, timed(totals, f"{owner.__name__}.{name}", getattr(owner, name)))
    with bench_server() as server:
        connection = server.fresh()
        make_failed_jobs(connection, QUEUE, options.jobs, dlq=DeadLetterQueue(connection, PREFIX, TTL))
        os.environ.update({"REDIS_URL": server.url, "DLQ_PREFIX": PREFIX, "DLQ_MAX_ENTRIES": "1000000"})
        os.environ["LOG_LEVEL"] = "WARNING"
        sys.argv = ["requeue.py", "--all", "--queue", QUEUE]
        started = time.process_time()
        try:
            requeue_main()
        except SystemExit:
            pass
        totals["whole run"] = time.process_time() - started
        queued = Queue(QUEUE, connection=connection).count
    print(f"CPU seconds per step, requeue --all of {options.jobs:,} ({queued:,} queued):")
    for label, seconds in totals.items():
        print(f"  {label:34} {seconds:7.3f}")


if __name__ == "__main__":
    main()
