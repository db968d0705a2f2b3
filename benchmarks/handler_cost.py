"""Item 3: the retry path. Jobs that fail 3 times then succeed, run by an in-process `SimpleWorker`.
Also, for item 2, the handler's own time on a final failure inside the same kind of worker.

The handler's own time per failed attempt is measured by wrapping `failure_handlers.handler.on_failure`
(RQ 3.0 resolves the callback by its dotted name on every job, so the wrapper is what runs).
The same jobs enqueued with plain RQ (same `Retry`, no callback) give the baseline: executions per
second over the whole burst, ours vs plain. Retries use `interval=0` so RQ requeues at once and
no scheduler is needed. Call it inside `log_files.logs_to_files` (the worker logs every attempt).
"""

from __future__ import annotations

import cProfile
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from redis import Redis
from rq import Queue, Retry, SimpleWorker
from rq.job import JobStatus

from benchmarks import tasks
from benchmarks.figures import Figure, Paired, judge_range, median, microseconds, per_second, percentile, runs
from benchmarks.server import BenchServer
from benchmarks.worker_throughput import JobPath, enqueue_jobs, processing_window
from failure_handlers import handler
from worker_tasks import enqueue

QUEUE = "default"
RETRIES = 3
EXECUTIONS_PER_JOB = RETRIES + 1
FINAL_FAILURE_TARGET = 500e-6  # seconds of handler time per final failure, median
RETRIED_ATTEMPT_TARGET = 250e-6  # per retried attempt, median


@contextmanager
def timed_handler(profile: cProfile.Profile | None = None) -> Iterator[list[float]]:
    """Replace `on_failure` (by its dotted name) with a wrapper recording each call's seconds,
    profiled by `profile` (only inside the handler) when one is given."""
    original = handler.on_failure
    samples: list[float] = []

    def timed(*args: Any) -> None:
        started = time.perf_counter()
        if profile is not None:
            profile.enable()
        try:
            original(*args)
        finally:
            if profile is not None:
                profile.disable()
            samples.append(time.perf_counter() - started)

    handler.on_failure = timed
    try:
        yield samples
    finally:
        handler.on_failure = original


def enqueue_flaky(connection: Redis, count: int, ours: bool) -> None:
    retry = Retry(max=RETRIES, interval=0)
    queue = Queue(QUEUE, connection=connection)
    with connection.pipeline() as pipe:
        for n in range(count):
            if ours:
                enqueue(tasks.fails_until_last_retry, n, connection=connection, pipeline=pipe, retry=retry)
            else:
                queue.enqueue(tasks.fails_until_last_retry, n, pipeline=pipe, retry=retry)
        pipe.execute()


def burst(connection: Redis) -> float:
    """Run the queue empty in this process; seconds taken (including ~1 s of worker start and stop)."""
    worker = SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection)
    started = time.perf_counter()
    worker.work(burst=True, logging_level="INFO")
    return time.perf_counter() - started


def burst_overhead(server: BenchServer) -> float:
    """Seconds an in-process burst takes on an empty queue (worker start and stop): median of 3."""
    return median([burst(server.fresh()) for _ in range(3)])


def figures(server: BenchServer, jobs: int, pairs: int) -> list[Figure]:
    """Item 3: jobs failing 3 times then succeeding, ours and plain RQ in adjacent pairs."""
    per_run: list[float] = []  # median handler time of each of our runs
    samples: list[float] = []
    rates: dict[bool, list[float]] = {True: [], False: []}
    overhead = burst_overhead(server)
    for pair in range(pairs):
        for ours in (True, False) if pair % 2 == 0 else (False, True):
            connection = server.fresh()
            enqueue_flaky(connection, jobs, ours)
            with timed_handler() as calls:
                seconds = burst(connection)
            if ours and len(calls) != jobs * RETRIES:
                raise RuntimeError(f"expected {jobs * RETRIES} handler calls, saw {len(calls)}")
            if ours:
                samples.extend(calls)
                per_run.append(median(calls))
            rates[ours].append(jobs * EXECUTIONS_PER_JOB / (seconds - overhead))
    paired = Paired(rates[True], rates[False])
    section = "3. Retry path"
    return [
        handler_time_figure(
            section, f"handler time per retried attempt, median ({len(samples):,} attempts)", samples, per_run,
            RETRIED_ATTEMPT_TARGET,
        ),
        Figure(section, "handler time per retried attempt, p99", microseconds(percentile(samples, 0.99))),
        Figure(
            section,
            f"in-process `SimpleWorker`, {jobs:,} jobs failing 3 times then succeeding (executions/s, "
            "worker start/stop subtracted)",
            runs(paired.ours, per_second),
            runs(paired.baseline, per_second),
            paired.ratio,
            spread=paired.spread(),
        ),
    ]  # fmt: skip


def handler_time_figure(section: str, metric: str, samples: list[float], per_run: list[float], target: float) -> Figure:
    """The median of all samples, judged against `target` by the range of the per-run medians."""
    low, high = min(per_run), max(per_run)
    return Figure(
        section,
        metric,
        microseconds(median(samples)),
        target=f"<= {microseconds(target)}",
        met=judge_range(low, high, target, at_least=False),
        spread=f"runs {microseconds(low)}–{microseconds(high)}",
        judged=True,
    )


def final_failure_figures(server: BenchServer, jobs: int, pairs: int) -> list[Figure]:
    """Item 2's gap explained: always-failing jobs (no retries), ours vs plain, in an in-process SimpleWorker.

    The gap per job (ours minus plain) next to the handler's own time says how much of the
    failure-path cost is the handler's work itself.
    """
    samples: list[float] = []
    per_run: list[float] = []
    per_job: dict[bool, list[float]] = {True: [], False: []}
    for ours in (True, False):  # untimed warm-up: first imports, script load, log files opened
        connection = server.fresh()
        enqueue_jobs(connection, JobPath.FAILURE, 5, ours)
        burst(connection)
    for pair in range(pairs):
        for ours in (True, False) if pair % 2 == 0 else (False, True):
            connection = server.fresh()
            job_ids = enqueue_jobs(connection, JobPath.FAILURE, jobs, ours)
            with timed_handler() as calls:
                burst(connection)
            per_job[ours].append(processing_window(connection, job_ids, JobStatus.FAILED) / (jobs - 1))
            if ours:
                samples.extend(calls)
                per_run.append(median(calls))
    durations = Paired(per_job[True], per_job[False], higher_is_better=False)
    gap = median(per_job[True]) - median(per_job[False])
    section = "2. Failure path"
    return [
        handler_time_figure(
            section,
            f"handler time per final failure in an in-process `SimpleWorker` ({len(samples):,} failures), median",
            samples,
            per_run,
            FINAL_FAILURE_TARGET,
        ),
        Figure(
            section,
            "handler time per final failure: mean / p99",
            " / ".join(microseconds(value) for value in (statistics.mean(samples), percentile(samples, 0.99))),
        ),
        Figure(
            section,
            f"in-process `SimpleWorker`, {jobs:,} always-failing jobs: time per job (gap = ours - plain)",
            f"{runs(durations.ours, microseconds)}; gap {microseconds(gap)}",
            runs(durations.baseline, microseconds),
            durations.ratio,
            spread=durations.spread(),
        ),
    ]
