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

Each run also records what it cost (`benchmarks/usage.py`, `benchmarks/cost.py`): the worker's CPU
time with its work-horses (`os.wait4` on the worker), the server's CPU time (`INFO cpu` delta) and
the server commands (`INFO commandstats` delta, Lua's inner commands included), per job, less what
the same worker costs on an empty queue (its start-up and exit: ~0.5 s of CPU, more for ours, which
imports the library; 5 ms a job over 100 jobs). On the failure path the verdicts come from these,
not from jobs/s: wall time on a shared machine counts the time a process waits for a CPU, CPU time
does not.
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
from benchmarks.cost import COMMANDS, SERVER_CPU, WORKER_CPU, RunCost, cost_figure
from benchmarks.figures import Figure, Paired, median, per_second, runs
from benchmarks.server import BenchServer
from benchmarks.usage import server_sample, wait_with_cpu
from failure_handlers.dev.worker_process import start_worker
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.runtime import settings
from worker_tasks import enqueue

QUEUE = "default"
SIMPLE_WORKER = "rq.worker.SimpleWorker"
WORKER_TIMEOUT_SECONDS = 600
SUCCESS_TARGET = 0.97
FAILURE_TARGET = 0.90  # wall clock: no longer judged (issue 20: CPU time is)
WORKER_CPU_EXTRA = 0.10  # issue 20: ours' extra worker CPU per final failure, of plain RQ's per failed job
SERVER_CPU_EXTRA = 0.15  # the server's extra CPU per final failure
EXTRA_COMMANDS = 16  # extra server commands per final failure


class JobPath(StrEnum):
    """Which path of the failure handling a run exercises."""

    SUCCESS = "success"
    FAILURE = "failure"


@dataclass(frozen=True)
class BurstRun:
    """One `rq worker --burst` over `jobs` jobs."""

    jobs: int
    window_seconds: float  # first started_at to last ended_at
    cost: RunCost  # CPU of the worker (and its work-horses) and of the server, server commands

    @property
    def jobs_per_second(self) -> float:
        return (self.jobs - 1) / self.window_seconds


@dataclass
class Comparison:
    ours: list[BurstRun]  # ours[n] and plain[n] ran back to back
    plain: list[BurstRun]
    private_server: bool = True  # INFO cpu is the benchmark's alone

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


def run_burst_worker(server: BenchServer, worker_class: str | None, log_dir: Path, ours: bool) -> float:
    """One `rq worker default --burst` subprocess, started as the project starts workers (plain RQ's
    without our exception handler); waits for it. Returns its CPU seconds, work-horses included."""
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
        [(code, cpu_seconds)] = wait_with_cpu([process], WORKER_TIMEOUT_SECONDS)
    if code != 0:
        tail = "".join(log_path.read_text(errors="replace").splitlines(True)[-20:])
        raise RuntimeError(f"rq worker exited with {code}:\n{tail}")
    return cpu_seconds


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


def measured_worker(server: BenchServer, connection: Redis, worker_class: str | None, ours: bool) -> RunCost:
    """One burst worker over what is queued: its CPU (work-horses included), the server's, the commands."""
    before = server_sample(connection)
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as log_dir:
        worker_cpu = run_burst_worker(server, worker_class, Path(log_dir), ours)
    used = server_sample(connection) - before
    return RunCost(0, worker_cpu, used.cpu_seconds, used.commands)


def start_stop_cost(server: BenchServer, worker_class: str | None, ours: bool, repeat: int) -> RunCost:
    """What a burst worker costs on an empty queue (interpreter start, imports, registration, exit):
    medians of `repeat` runs. Subtracted from every run, so a row's "per job" is the cost of the jobs."""
    costs = [measured_worker(server, server.fresh(), worker_class, ours) for _ in range(repeat)]
    return RunCost(
        0,
        median([cost.worker_cpu for cost in costs]),
        median([cost.server_cpu for cost in costs]),
        round(median([cost.commands for cost in costs])),
    )


def one_run(
    server: BenchServer, path: JobPath, worker_class: str | None, jobs: int, ours: bool, start_stop: RunCost
) -> BurstRun:
    connection = server.fresh()
    job_ids = enqueue_jobs(connection, path, jobs, ours)
    used = measured_worker(server, connection, worker_class, ours)
    expected = JobStatus.FINISHED if path is JobPath.SUCCESS else JobStatus.FAILED
    window = processing_window(connection, job_ids, expected)
    if path is JobPath.FAILURE:
        _check_dead_lettered(connection, jobs if ours else 0)
    return BurstRun(jobs, window, RunCost(jobs, used.worker_cpu, used.server_cpu, used.commands).less(start_stop))


def compare(server: BenchServer, path: JobPath, worker_class: str | None, jobs: int, pairs: int) -> Comparison:
    """`pairs` adjacent runs of ours and of plain RQ, alternating which of the two goes first."""
    comparison = Comparison([], [], server.private)
    repeat = 3 if pairs > 1 else 1  # 1: a smoke run
    start_stop = {ours: start_stop_cost(server, worker_class, ours, repeat) for ours in (True, False)}
    for pair in range(pairs):
        for ours in (True, False) if pair % 2 == 0 else (False, True):
            result = one_run(server, path, worker_class, jobs, ours, start_stop[ours])
            (comparison.ours if ours else comparison.plain).append(result)
    return comparison


def figures(server: BenchServer, simple_jobs: int, forking_jobs: int, pairs: int) -> list[Figure]:
    """Items 1 and 2, both worker classes (the forking one, ~15 ms a job, on fewer jobs to fit the time budget).

    On the failure path the verdicts come from CPU time and server commands per job (issue 20's
    targets); jobs/s (wall clock) stays as a secondary row there. On the success path the jobs/s
    target stays, with the CPU rows beside it.
    """
    rows = []
    for path, target in ((JobPath.SUCCESS, SUCCESS_TARGET), (JobPath.FAILURE, FAILURE_TARGET)):
        section = "1. Success path" if path is JobPath.SUCCESS else "2. Failure path"
        failure = path is JobPath.FAILURE
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
                    metric=f"`rq worker --burst`, {label}, {jobs:,} {what} (jobs/s"
                    + (f", wall clock: secondary, was >= {target:.2f})" if failure else ")"),
                    ours=runs(rates.ours, per_second),
                    baseline=runs(rates.baseline, per_second),
                    ratio=rates.ratio,
                    target="" if failure else f">= {target:.2f}",
                    met=None if failure else rates.judge(target),
                    spread=rates.spread(),
                    judged=not failure,
                )
            )
            rows += cost_rows(section, label, comparison, failure)
    return rows


def cost_rows(section: str, label: str, comparison: Comparison, judged: bool) -> list[Figure]:
    """Worker CPU, server CPU and server commands per job, ours vs plain; judged on the failure path."""
    ours = [run.cost for run in comparison.ours]
    plain = [run.cost for run in comparison.plain]
    scope = "" if comparison.private_server else " (shared server: includes other clients)"
    return [
        cost_figure(
            section, f"worker CPU per job, {label} (process + work-horses, wait4)", WORKER_CPU, ours, plain,
            WORKER_CPU_EXTRA if judged else None,
        ),
        cost_figure(
            section, f"server CPU per job, {label} (INFO cpu){scope}", SERVER_CPU, ours, plain,
            SERVER_CPU_EXTRA if judged else None,
        ),
        cost_figure(
            section, f"server commands per job, {label} (INFO commandstats, incl. inside Lua)", COMMANDS, ours, plain,
            EXTRA_COMMANDS if judged else None,
        ),
    ]  # fmt: skip


def _check_dead_lettered(connection: Redis, expected: int) -> None:
    count = DeadLetterQueue.from_settings(connection, settings().dlq, settings().archive).count()
    if count != expected:
        raise RuntimeError(f"expected {expected} DLQ entries after the failure-path run, found {count}")
