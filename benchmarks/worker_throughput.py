"""Items 1 and 2: jobs/s of a real `rq worker --burst`, our `enqueue` vs plain `queue.enqueue`.

Each run starts from an empty database, enqueues N jobs in one pipeline, then runs one
`rq worker default --burst -c failure_handlers.rq_settings` subprocess (forking `Worker`, or
`-w rq.worker.SimpleWorker`) until the queue is empty: for ours, the Procfile's worker (with the
`--exception-handler failure_handlers.integration.record_failure` integration); for plain RQ, a
worker without it. The rate is taken over the processing window, from the first job's `started_at`
to the last job's `ended_at` as RQ stored them, so the worker's start-up (about 0.5 s, the same for
both) does not dilute the difference. Ours and plain RQ run in adjacent pairs, which of the two goes
first alternating (ours, plain, plain, ours, …), so both see the same background load; the ratio is
the median of the pair ratios, with their spread.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus

from benchmarks import tasks
from benchmarks.figures import Figure, Paired, median, per_second, runs
from benchmarks.server import BenchServer
from failure_handlers.dev.worker_process import start_worker
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.runtime import settings
from worker_tasks import enqueue

QUEUE = "default"
SIMPLE_WORKER = "rq.worker.SimpleWorker"
WORKER_TIMEOUT_SECONDS = 600
SUCCESS_TARGET = 0.97
FAILURE_TARGET = 0.90


class JobPath(StrEnum):
    """Which path of the failure handling a run exercises."""

    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class BurstRun:
    """One `rq worker --burst` over `jobs` jobs."""

    jobs: int
    window_seconds: float  # first started_at to last ended_at
    commands: int  # commands the server executed during the run (INFO commandstats delta)

    @property
    def jobs_per_second(self) -> float:
        return (self.jobs - 1) / self.window_seconds


@dataclass
class Comparison:
    ours: list[BurstRun]  # ours[n] and plain[n] ran back to back
    plain: list[BurstRun]

    def rates(self) -> Paired:
        return Paired([r.jobs_per_second for r in self.ours], [r.jobs_per_second for r in self.plain])


def enqueue_jobs(connection: Redis, path: JobPath, count: int, ours: bool) -> list[str]:
    """`count` no-op (success path) or always-failing (failure path, no retries) jobs, one pipeline."""
    func = tasks.noop if path is JobPath.SUCCESS else tasks.always_fails
    queue = Queue(QUEUE, connection=connection)
    with connection.pipeline() as pipe:
        if ours:
            # Success path: the configured Retry and on_failure; failure path: no retries (final failure).
            retry_option = {} if path is JobPath.SUCCESS else {"retry": None}
            jobs = [enqueue(func, n, connection=connection, pipeline=pipe, **retry_option) for n in range(count)]
        else:
            jobs = [queue.enqueue(func, n, pipeline=pipe) for n in range(count)]
        pipe.execute()
    return [job.id for job in jobs]


def run_burst_worker(server: BenchServer, worker_class: str | None, log_dir: Path, ours: bool) -> None:
    """One `rq worker default --burst` subprocess, started as the project starts workers (plain RQ's
    without our exception handler); waits for it."""
    extra = ["--burst", *(["-w", worker_class] if worker_class else [])]  # start_worker adds -c rq_settings
    log_path = log_dir / "worker.log"
    with open(log_path, "wb") as log:
        process = start_worker(
            server.url,
            [QUEUE],
            env=server.worker_env(),
            extra_args=extra,
            output=log,
            with_scheduler=False,
            record_every_job=ours,
        )
        try:
            code = process.wait(timeout=WORKER_TIMEOUT_SECONDS)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    if code != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-20:])
        raise RuntimeError(f"rq worker exited with {code}:\n{tail}")


def processing_window(connection: Redis, job_ids: Sequence[str], expected: JobStatus) -> float:
    """Seconds from the first job's start to the last job's end; checks every job reached `expected`."""
    jobs = Job.fetch_many(list(job_ids), connection=connection)
    unfinished = [
        job_id for job_id, job in zip(job_ids, jobs, strict=True) if job is None or job.get_status() != expected
    ]
    if unfinished:
        raise RuntimeError(f"{len(unfinished)} of {len(job_ids)} jobs did not end {expected.value}: {unfinished[:3]}")
    started = min(job.started_at for job in jobs if job is not None and job.started_at)
    ended = max(job.ended_at for job in jobs if job is not None and job.ended_at)
    return (ended - started).total_seconds()


def total_commands(connection: Redis) -> int:
    return sum(
        int(stats["calls"]) for name, stats in connection.info("commandstats").items() if name.startswith("cmdstat_")
    )


def one_run(server: BenchServer, path: JobPath, worker_class: str | None, jobs: int, ours: bool) -> BurstRun:
    connection = server.fresh()
    job_ids = enqueue_jobs(connection, path, jobs, ours)
    before = total_commands(connection)
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as log_dir:
        run_burst_worker(server, worker_class, Path(log_dir), ours)
    commands = total_commands(connection) - before
    expected = JobStatus.FINISHED if path is JobPath.SUCCESS else JobStatus.FAILED
    window = processing_window(connection, job_ids, expected)
    if path is JobPath.FAILURE:
        _check_dead_lettered(connection, jobs if ours else 0)
    return BurstRun(jobs, window, commands)


def compare(server: BenchServer, path: JobPath, worker_class: str | None, jobs: int, pairs: int) -> Comparison:
    """`pairs` adjacent runs of ours and of plain RQ, alternating which of the two goes first."""
    comparison = Comparison([], [])
    for pair in range(pairs):
        for ours in (True, False) if pair % 2 == 0 else (False, True):
            result = one_run(server, path, worker_class, jobs, ours)
            (comparison.ours if ours else comparison.plain).append(result)
    return comparison


def figures(server: BenchServer, simple_jobs: int, forking_jobs: int, pairs: int) -> list[Figure]:
    """Items 1 and 2, both worker classes (the forking one, ~15 ms a job, on fewer jobs to fit the time budget)."""
    rows = []
    for path, target in ((JobPath.SUCCESS, SUCCESS_TARGET), (JobPath.FAILURE, FAILURE_TARGET)):
        section = "1. Success path" if path is JobPath.SUCCESS else "2. Failure path"
        for worker_class, label, jobs in (
            (None, "forking `Worker`", forking_jobs),
            (SIMPLE_WORKER, "`SimpleWorker`", simple_jobs),
        ):
            comparison = compare(server, path, worker_class, jobs, pairs)
            what = "no-op jobs" if path is JobPath.SUCCESS else "always-failing jobs, no retries"
            rates = comparison.rates()
            rows.append(
                Figure(
                    section=section,
                    metric=f"`rq worker --burst`, {label}, {jobs:,} {what} (jobs/s)",
                    ours=runs(rates.ours, per_second),
                    baseline=runs(rates.baseline, per_second),
                    ratio=rates.ratio,
                    target=f">= {target:.2f}",
                    met=rates.judge(target),
                    spread=rates.spread(),
                    judged=True,
                )
            )
            if path is JobPath.FAILURE:
                rows.append(
                    Figure(
                        section=section,
                        metric=f"server commands per job, {label} (INFO commandstats, incl. inside Lua)",
                        ours=f"{median([r.commands / r.jobs for r in comparison.ours]):.1f}",
                        baseline=f"{median([r.commands / r.jobs for r in comparison.plain]):.1f}",
                    )
                )
    return rows


def _check_dead_lettered(connection: Redis, expected: int) -> None:
    count = DeadLetterQueue.from_settings(connection, settings().dlq, settings().archive).count()
    if count != expected:
        raise RuntimeError(f"expected {expected} DLQ entries after the failure-path run, found {count}")
