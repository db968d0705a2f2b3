"""The failover chaos experiment: jobs through a Sentinel failover, twice, and an account per job.

A primary, a replica and three Sentinels on loopback (Debian's `redis-server`,
`failure_handlers/dev/redis_servers.py`). Workers on the Procfile's line (`rq worker chaos
--with-scheduler -c failure_handlers.rq_settings --exception-handler ...record_failure`), the
reconciler and the archiver (SQLite), all on the `redis+sentinel://` URL and kept alive by a small
supervisor (`chaos/supervisor.py`: restarts a process that exits, counts the restarts). During the
run the primary is frozen once (SIGSTOP for `freeze_seconds`, SIGCONT once the Sentinels have
promoted the replica) and shut down once (SIGTERM; started again, as its supervisor would, once the
Sentinels have promoted the other server, so it rejoins as a replica).

Each job appends a line per run to a file outside Redis (O_APPEND: job id, pid, time), the ground
truth of how often it ran, since Redis loses writes in a failover. The account, per job: lost (never
finished nor dead), dead without its real cause (the entry's `exc_type` is not the exception the job
raised), duplicate dead-letterings (finished AND dead, or more than one archive row), runs beyond
what its fate needs (each explained by the disruption it overlapped) and beyond its retry budget.

`wait_replicas=True` runs it with `DLQ_WAIT_REPLICAS=1` and `min-replicas-to-write 1` on both servers;
`min_replicas=False` with the first only.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue

from chaos.supervisor import Supervisor
from failure_handlers.config import Settings, parse_settings
from failure_handlers.dev.polling import wait_until
from failure_handlers.dev.redis_servers import RedisProcess, SentinelSetup, sentinel_setup
from failure_handlers.dev.worker_process import PROJECT_ROOT, start_worker
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.errors import RedisUnavailable
from failure_handlers.jobs.status import job_statuses
from failure_handlers.operations.reconciler import Reconciler
from failure_handlers.runtime import connect
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import ChaosFlakyError, ChaosPermanentError, failover_job

QUEUE = "chaos-failover"
RESULT_TTL = 24 * 3600  # keep finished jobs to count them
RETRY_MAX = 2  # every job's retry budget (RETRY_MAX): at most 3 runs
# `single`: a failing job enqueued without retries (an abandoned run of it is its final failure)
FATE_WEIGHTS = {"ok": 45, "permanent": 20, "flaky": 15, "single": 20}
REAL_CAUSES = {
    "permanent": f"{ChaosPermanentError.__module__}.{ChaosPermanentError.__qualname__}",
    "flaky": f"{ChaosFlakyError.__module__}.{ChaosFlakyError.__qualname__}",
    "single": f"{ChaosFlakyError.__module__}.{ChaosFlakyError.__qualname__}",
}
NEEDED_RUNS = {"ok": 1, "permanent": 1, "flaky": 1 + RETRY_MAX, "single": 1}  # the runs each fate takes without chaos
BUDGET = {"ok": 1 + RETRY_MAX, "permanent": 1 + RETRY_MAX, "flaky": 1 + RETRY_MAX, "single": 1}
FAILOVER_SECONDS = 60  # the Sentinels promote within a few seconds; room for a loaded machine
DEFAULT_REPLICA_PRIORITY = 100  # redis-server's default
WAIT_TIMEOUT_MS = 1000
RUNS_FILE = "runs.log"
# What an extra run explained by each disruption means (`_explain`): the earlier run's writes (its dequeue,
# its end, its retry count, its DLQ entry) were acknowledged by a primary that then lost them.
EXPLANATIONS = {
    "freeze": "an earlier run's writes went to the frozen primary once it was back (split brain) and were "
    "dropped when it resynced from the new primary",
    "shutdown": "an earlier run was in flight when the primary shut down",
    "unexplained": "no earlier run overlapped a disruption",
}


@dataclass(frozen=True)
class FailoverConfig:
    jobs: int = 200
    wait_replicas: bool = False  # DLQ_WAIT_REPLICAS=1 and min-replicas-to-write 1 on every server
    min_replicas: bool | None = None  # min-replicas-to-write 1 (None: as wait_replicas)
    seed: int = 20261129
    workers: int = 3
    seconds: tuple[float, float] = (0.2, 1.2)  # each run's duration, uniform
    freeze_seconds: float = 4.0
    freeze_at: float = 0.25  # share of jobs terminal when the primary is frozen
    shutdown_at: float = 0.6  # ... and when it is shut down
    deadline_seconds: float | None = None  # default: 240 s + 0.5 s per job

    @property
    def deadline(self) -> float:
        return self.deadline_seconds if self.deadline_seconds is not None else 240 + 0.5 * self.jobs

    @property
    def refuses_writes(self) -> bool:
        """min-replicas-to-write 1 on both servers."""
        return self.wait_replicas if self.min_replicas is None else self.min_replicas

    @property
    def label(self) -> str:
        wait = "DLQ_WAIT_REPLICAS=1" if self.wait_replicas else "no WAIT"
        refuse = "min-replicas-to-write 1" if self.refuses_writes else "no min-replicas"
        return f"{wait} + {refuse}" if self.wait_replicas or self.refuses_writes else f"{wait}, {refuse}"


@dataclass
class Disruption:
    kind: str  # "freeze" or "shutdown"
    started: float  # unix time of SIGSTOP / SIGTERM
    promoted: float = 0.0  # the Sentinels named the other server
    ended: float = 0.0  # the old primary is a synced replica of the new one

    def line(self) -> str:
        return (
            f"{self.kind}: promoted after {self.promoted - self.started:.1f}s, "
            f"old primary a synced replica after {self.ended - self.started:.1f}s"
        )


@dataclass
class JobAccount:
    job_id: str
    fate: str
    runs: int = 0  # from the runs file
    status: str = "?"
    exc_type: str | None = None  # the DLQ entry's cause; None: no entry
    archive_rows: int = 0
    extra_runs_explained_by: str = ""

    @property
    def dead(self) -> bool:
        return self.exc_type is not None

    @property
    def lost(self) -> bool:
        return self.status != "finished" and not self.dead

    @property
    def cause_lost(self) -> bool:
        """Dead, but not with the exception the job raised (or dead though it succeeds)."""
        return self.dead and self.exc_type != REAL_CAUSES.get(self.fate)

    @property
    def duplicate(self) -> bool:
        """More than one dead-lettering: finished AND dead, a second archive row, a row of a job not dead."""
        return (self.status == "finished" and self.dead) or self.archive_rows > (1 if self.dead else 0)

    @property
    def archive_missing(self) -> bool:
        return self.dead and not self.archive_rows

    @property
    def extra_runs(self) -> int:
        return max(0, self.runs - NEEDED_RUNS[self.fate])

    @property
    def beyond_budget(self) -> bool:
        return self.runs > BUDGET[self.fate]

    def line(self) -> str:
        return (
            f"{self.job_id}: runs={self.runs} status={self.status} entry={self.exc_type or '-'} "
            f"archive_rows={self.archive_rows}"
            + (f" extra_runs={self.extra_runs} ({self.extra_runs_explained_by})" if self.extra_runs else "")
        )


@dataclass
class FailoverFigures:
    label: str
    jobs: int = 0
    fates: Counter[str] = field(default_factory=Counter)
    disruptions: list[Disruption] = field(default_factory=list)
    restarts: Counter[str] = field(default_factory=Counter)
    exit_codes: Counter[str] = field(default_factory=Counter)
    accounts: list[JobAccount] = field(default_factory=list)
    unfinished: int = 0  # jobs not terminal when the deadline passed
    dead_by_cause: Counter[str] = field(default_factory=Counter)
    handler_errors: int = 0  # "Failure handler could not ..." lines in the workers' logs
    short_of_replicas: int = 0  # "... replicas acknowledged ..." warnings in the workers' logs
    sentinel_events: list[str] = field(default_factory=list)  # each Sentinel's switches and aborted failovers
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and the end
    seconds: float = 0.0

    def select(self, predicate: Callable[[JobAccount], bool]) -> list[JobAccount]:
        return [account for account in self.accounts if predicate(account)]

    @property
    def extra_runs(self) -> Counter[str]:
        """Extra runs by what explains them ("" for unexplained)."""
        counted: Counter[str] = Counter()
        for account in self.accounts:
            counted[account.extra_runs_explained_by] += account.extra_runs
        return +counted

    @property
    def holds(self) -> bool:
        """0 lost, 0 causes lost, 0 duplicate dead-letterings, every extra run explained."""
        return not (
            self.unfinished
            or self.select(lambda a: a.lost)
            or self.select(lambda a: a.cause_lost)
            or self.select(lambda a: a.duplicate)
            or self.select(lambda a: a.archive_missing)
            or self.extra_runs.get("unexplained")
        )

    def summary(self) -> str:
        return (
            f"[{self.label}] jobs={self.jobs} finished={len(self.select(lambda a: a.status == 'finished'))} "
            f"dead={len(self.select(lambda a: a.dead))} unfinished={self.unfinished} "
            f"lost={len(self.select(lambda a: a.lost))} causes_lost={len(self.select(lambda a: a.cause_lost))} "
            f"duplicates={len(self.select(lambda a: a.duplicate))} "
            f"archive_missing={len(self.select(lambda a: a.archive_missing))} "
            f"extra_runs={sum(self.extra_runs.values())}{' ' + str(dict(self.extra_runs)) if self.extra_runs else ''} "
            f"beyond_budget={len(self.select(lambda a: a.beyond_budget))} "
            f"restarts={dict(self.restarts)} exits={dict(self.exit_codes)} "
            f"handler_errors={self.handler_errors} short_of_replicas={self.short_of_replicas} "
            f"load={self.load[0]:.1f}->{self.load[1]:.1f} seconds={self.seconds:.0f}"
        )


def run(config: FailoverConfig, work_dir: Path, say: Callable[[str], None] = print) -> FailoverFigures:
    """Run the experiment in `work_dir` (servers, logs, the runs file, the archive) and account per job."""
    rng = random.Random(config.seed)
    figures = FailoverFigures(config.label, jobs=config.jobs, load=(os.getloadavg()[0], 0.0))
    started = time.monotonic()
    runs_file = work_dir / RUNS_FILE
    server_args = ["--min-replicas-to-write", "1"] if config.refuses_writes else []
    with sentinel_setup(work_dir / "servers", server_args=server_args) as setup:
        env = _environment(setup.url(), work_dir, config.wait_replicas)
        settings = parse_settings(env)
        from chaos.archive_accounting import init_schema

        init_schema(settings)
        fates = _enqueue_all(connect(setup.url()), config, rng, runs_file, env)
        figures.fates.update(fates.values())
        say(f"[{config.label}] enqueued {len(fates)} jobs: {dict(figures.fates)}")
        supervisor = _supervisor(setup.url(), env, config.workers, work_dir)
        with supervisor:
            plan = sorted([(config.freeze_at, "freeze"), (config.shutdown_at, "shutdown")])
            deadline = time.monotonic() + config.deadline
            while True:
                done = _terminal_count(setup.url(), list(fates))
                while plan and done >= plan[0][0] * len(fates):
                    _, action = plan.pop(0)
                    disruption = _freeze(setup, config.freeze_seconds) if action == "freeze" else _shut_down(setup)
                    figures.disruptions.append(disruption)
                    say(f"[{config.label}] chaos: {disruption.line()} ({done}/{len(fates)} jobs terminal before)")
                if not plan and done == len(fates) and _drained(setup.url()):
                    break
                if time.monotonic() > deadline:
                    figures.unfinished = len(fates) - done
                    say(f"[{config.label}] deadline passed with {done}/{len(fates)} jobs terminal")
                    break
                time.sleep(0.5)
        figures.restarts, figures.exit_codes = supervisor.restarts, supervisor.exit_codes
        connection = connect(setup.url())
        dlq = DeadLetterQueue.from_settings(connection, settings.dlq, settings.archive)
        # nothing is running any more (drained): no abandoned-job cleanup here, which would record in this
        # process's settings, not the experiment's
        final = Reconciler(connection, dlq, settings, clean_abandoned=False).run(full=True)
        say(f"[{config.label}] final pass: {final.line()}")
        figures.accounts = _account(connection, dlq, settings, fates, runs_file, figures.disruptions)
    figures.dead_by_cause.update(account.exc_type for account in figures.accounts if account.exc_type)
    figures.handler_errors, figures.short_of_replicas = _log_counts(work_dir)
    figures.sentinel_events = _sentinel_events(work_dir)
    figures.load = (figures.load[0], os.getloadavg()[0])
    figures.seconds = time.monotonic() - started
    return figures


# -- the disruptions --------------------------------------------------------------------------------


def _freeze(setup: SentinelSetup, seconds: float) -> Disruption:
    """SIGSTOP the primary for `seconds` and until the Sentinels name the other server, then SIGCONT;
    done when the old primary is a synced replica of the new one (Sentinel demotes it)."""
    old = setup.current_primary()
    new = setup.other(old)
    disruption = Disruption("freeze", time.time())
    os.kill(old.process.pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)  # the freeze itself is the experiment
        wait_until(lambda: setup.primary_port() == new.port, FAILOVER_SECONDS, "the Sentinels to promote the replica")
        disruption.promoted = time.time()
    finally:
        os.kill(old.process.pid, signal.SIGCONT)
    wait_until(lambda: setup.is_replica_of(old, new), FAILOVER_SECONDS, "the old primary to be demoted and synced")
    disruption.ended = time.time()
    return disruption


def _shut_down(setup: SentinelSetup) -> Disruption:
    """SIGTERM the primary; once every Sentinel has finished promoting the other server, start it again
    (its supervisor) as a replica of the new primary and wait until it is a synced replica.

    The old server keeps no data (persistence off). Started before every Sentinel had finished the
    failover, or started as a primary, it could be taken as the primary again, empty, and the promoted
    server would resync from it and lose every key (seen under load). A server Sentinel has demoted has
    its REPLICAOF written to its config file; `--replicaof` is that file here.

    Until its first sync is done it is also started with `replica-priority 0`: Sentinel may promote a
    replica that has never synced (its `master_link_down_since_seconds` is -1, which passes Sentinel's
    "disconnected too long" check), and on a loaded machine (down-after 1 s) the Sentinels once took the
    new primary for down while the restarted server was still empty and promoted it: every key was lost
    (21 of 24 jobs gone, three re-created by the workers that held them). Once synced it holds the data,
    and its priority goes back to the default.
    """
    old = setup.current_primary()
    new = setup.other(old)
    disruption = Disruption("shutdown", time.time())
    old.stop()
    wait_until(lambda: _names(setup, new), FAILOVER_SECONDS, "the Sentinels to promote the replica")
    disruption.promoted = time.time()
    _wait_described(setup, lambda: setup.settled_on(new), "every Sentinel to finish the failover")
    old.start_again(["--replicaof", "127.0.0.1", str(new.port), "--replica-priority", "0"])
    _wait_described(setup, lambda: setup.is_replica_of(old, new), "the restarted server to sync as a replica")
    with old.client() as client:
        client.config_set("replica-priority", DEFAULT_REPLICA_PRIORITY)
    # Now that `old` holds the data, the Sentinels (down-after 1 s) may fail over once more, back to it,
    # on a loaded machine: either way, the pair ends synced.
    _wait_described(setup, lambda: _synced_pair(setup), "the restarted server to rejoin as a replica")
    disruption.ended = time.time()
    return disruption


def _synced_pair(setup: SentinelSetup) -> bool:
    """Every Sentinel names one server, which says it is a primary, and the other is its synced replica."""
    return any(
        setup.settled_on(server) and setup.is_replica_of(setup.other(server), server) for server in setup.servers()
    )


def _wait_described(setup: SentinelSetup, probe: Callable[[], bool], what: str) -> None:
    """`wait_until`, whose timeout says what each Sentinel and server said last."""
    try:
        wait_until(probe, FAILOVER_SECONDS, what)
    except TimeoutError as error:
        raise TimeoutError(f"{error}; {setup.describe()}") from None


def _names(setup: SentinelSetup, server: RedisProcess) -> bool:
    try:
        return setup.primary_port() == server.port
    except (RedisError, TypeError):
        return False


# -- the processes ----------------------------------------------------------------------------------


def _environment(url: str, work_dir: Path, wait_replicas: bool) -> dict[str, str]:
    wait = {"DLQ_WAIT_REPLICAS": "1", "DLQ_WAIT_TIMEOUT_MS": str(WAIT_TIMEOUT_MS)} if wait_replicas else {}
    return {
        **wait,
        "REDIS_URL": url,
        "ARCHIVE_URL": f"sqlite:///{work_dir / 'archive.db'}",
        "ARCHIVE_CLAIM_IDLE_SECONDS": "2",
        "RETRY_MAX": str(RETRY_MAX),
        "RETRY_INTERVALS": "1",
        "JOB_TIMEOUT": "30",
        "DLQ_PREFIX": "rq:dlq:",
        "DLQ_MAX_ENTRIES": "1000000",
        "LOG_LEVEL": "INFO",
        "LOG_JSON": "false",
    }


def _supervisor(url: str, env: dict[str, str], workers: int, work_dir: Path) -> Supervisor:
    supervisor = Supervisor()
    logs = Counter[str]()

    def log(name: str) -> int:
        logs[name] += 1
        return os.open(work_dir / f"{name}-{logs[name]}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def worker() -> subprocess.Popen[bytes]:
        # maintenance every 5 s (RQ's default 10 min): a scheduler lock or an intermediate queue left by a
        # worker that exited is taken over soon; an idle worker wakes every 15 s (worker-ttl - 15).
        options = ["--worker-ttl", "30", "--maintenance-interval", "5"]
        return start_worker(url, [QUEUE], env=env, extra_args=options, output=log("worker"))

    def script(name: str, *args: str) -> Callable[[], subprocess.Popen[bytes]]:
        return lambda: subprocess.Popen(
            [sys.executable, "scripts/dlq.py", *args],
            cwd=PROJECT_ROOT,
            env={**os.environ, **env},
            stdout=log(name),
            stderr=subprocess.STDOUT,
        )

    for number in range(1, workers + 1):
        supervisor.add(f"worker-{number}", "worker", worker)
    supervisor.add("reconciler", "reconciler", script("reconciler", "reconcile", "--watch", "--interval", "1"))
    supervisor.add("archiver", "archiver", script("archiver", "archive", "run"))
    return supervisor


# -- the run ----------------------------------------------------------------------------------------


def _enqueue_all(
    connection: Redis, config: FailoverConfig, rng: random.Random, runs_file: Path, env: dict[str, str]
) -> dict[str, str]:
    settings = parse_settings(env)
    fates = rng.choices(list(FATE_WEIGHTS), weights=list(FATE_WEIGHTS.values()), k=config.jobs)
    ids = {}
    for number, fate in enumerate(fates):
        job = enqueue(
            failover_job,
            fate,
            round(rng.uniform(*config.seconds), 3),
            str(runs_file),
            queue=QUEUE,
            connection=connection,
            settings=settings,
            job_id=f"failover-{number:04d}-{fate}",
            result_ttl=RESULT_TTL,
            **({"retry": None} if fate == "single" else {}),
        )
        ids[job.id] = fate
    return ids


def _terminal_count(url: str, ids: list[str]) -> int:
    try:
        with connect(url) as connection:
            return sum(1 for status in job_statuses(connection, ids) if status in {"finished", "failed"})
    except (RedisError, RedisUnavailable):
        return 0


def _drained(url: str) -> bool:
    try:
        with connect(url) as connection:
            queue = Queue(QUEUE, connection=connection)
            return not (queue.count or queue.scheduled_job_registry.count or queue.started_job_registry.count)
    except (RedisError, RedisUnavailable):
        return False


# -- the account ------------------------------------------------------------------------------------


def _account(
    connection: Redis,
    dlq: DeadLetterQueue,
    settings: Settings,
    fates: dict[str, str],
    runs_file: Path,
    disruptions: list[Disruption],
) -> list[JobAccount]:
    ids = list(fates)
    statuses = dict(zip(ids, job_statuses(connection, ids), strict=True))
    entries = dict(zip(ids, dlq.get_many(ids), strict=True))
    rows = _archive_rows(connection, settings, ids)
    runs = _runs(runs_file)
    accounts = []
    for job_id, fate in fates.items():
        entry = entries[job_id]
        account = JobAccount(
            job_id,
            fate,
            runs=len(runs.get(job_id, [])),
            status=str(statuses[job_id]),
            exc_type=entry.exc_type if entry is not None else None,
            archive_rows=rows[job_id],
        )
        if account.extra_runs:
            account.extra_runs_explained_by = _explain(runs[job_id], disruptions)
        accounts.append(account)
    return accounts


def _runs(runs_file: Path) -> dict[str, list[tuple[float, float | None]]]:
    """Per job, its runs as (start, end or None) from the runs file, in order."""
    starts: dict[str, list[tuple[str, float]]] = defaultdict(list)
    ends: dict[str, dict[str, float]] = defaultdict(dict)
    if runs_file.exists():
        for line in runs_file.read_text().splitlines():
            event, job_id, pid, when = line.split()
            if event == "start":
                starts[job_id].append((pid, float(when)))
            else:
                ends[job_id][pid] = float(when)
    return {job_id: sorted((when, ends[job_id].get(pid)) for pid, when in items) for job_id, items in starts.items()}


def _explain(runs: list[tuple[float, float | None]], disruptions: list[Disruption]) -> str:
    """The disruption a run before the job's last one overlapped: its acknowledgement (the job's end,
    its DLQ entry) went to a primary that lost it. "unexplained" if no such run."""
    for start, end in runs[:-1]:
        for disruption in disruptions:
            if start <= disruption.ended and (end or start) >= disruption.started - 1.0:
                return disruption.kind
    return "unexplained"


def _archive_rows(connection: Redis, settings: Settings, ids: list[str]) -> Counter[str]:
    """Rows per job in the archive, after draining what the archiver left."""
    from sqlalchemy import select

    from failure_handlers.archive import database
    from failure_handlers.archive.archiver import Archiver
    from failure_handlers.archive.schema import failed_jobs

    engine = database.make_engine(settings.archive)
    Archiver(connection, settings, engine, consumer="failover-accounting").run_once()
    with engine.connect() as db:
        found = db.execute(select(failed_jobs.c.job_id).where(failed_jobs.c.job_id.in_(ids))).all()
    engine.dispose()
    return Counter(job_id for (job_id,) in found)


def _sentinel_events(work_dir: Path) -> list[str]:
    """Each Sentinel's log lines that say it switched the primary or gave up a failover, by Sentinel:
    what a failed run needs to tell a second failover from a lost write."""
    events = []
    for log in sorted(work_dir.glob("servers/sentinel-*/server.log")):
        for line in log.read_text(errors="replace").splitlines():
            if "+switch-master" in line or "-failover-abort" in line:
                events.append(f"{log.parent.name}: {line.strip()}")
    return events


def _log_counts(work_dir: Path) -> tuple[int, int]:
    errors = short = 0
    for log in work_dir.glob("worker-*.log"):
        text = log.read_text(errors="replace")
        errors += text.count("Failure handler could not")
        short += text.count("replicas acknowledged the DLQ entry")
    return errors, short
