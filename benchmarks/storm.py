"""Item 4 of issue 20: a failure storm. Every job fails at once; what does the shared server see?

`python -m benchmarks.storm [--jobs 20000] [--workers 4] [--pairs 1]` (`make bench-storm`); `make bench`
runs it at full size, `make bench-quick` at 500 jobs.

Each run enqueues N always-failing jobs (no retries) in one go on an empty database, then starts
4 real `rq worker default --burst` processes at once: the Procfile's line (`--with-scheduler
-c failure_handlers.rq_settings`, forking `Worker`), ours with `--exception-handler
failure_handlers.integration.record_failure` and jobs enqueued with our `enqueue`, plain RQ's
without them, and waits until they have drained the queue. Ours and plain RQ run in the same
session on the same server, in adjacent pairs (which goes first alternating).

- Time to drain: the first job's `started_at` to the last job's `ended_at` (as RQ stored them).
- CPU: the 4 workers' own (with their work-horses, `os.wait4`) and the server's (`INFO cpu`), and
  the server's commands (`INFO commandstats`, PINGs and INFOs of the benchmark left out), per job.
  The workers' start-up is not taken off here (4 start-ups over 20,000 jobs; over 500, in a smoke
  run, it is ~1 ms a job), and ours' server figures include the alert notifier's passes.
- PING latency: a separate process (`benchmarks/ping_prober.py`) sends a PING every 10 ms on its
  own connection during the storm, as any other client of the server would; p99 of those.
- Ours only: the DLQ at the end (entries, groups; `DLQ_MAX_ENTRIES` raised to N so that the cap
  trims nothing), and the alerts: `rq-dlq alert --watch --interval 1` (the Procfile's `alerts`
  process, a pass a second) runs through the storm with `ALERT_WEBHOOK_URL` pointing at an HTTP
  receiver in this process (`ALERT_WEBHOOK_FORMAT=json`). After the drain it is left 3 more passes
  and until nothing is pending, then every message received is counted by (rule, subject).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TypeVar

from redis import Redis
from rq.job import Job

from benchmarks import report
from benchmarks.cost import COMMANDS, SERVER_CPU, WORKER_CPU, RunCost, cost_figure
from benchmarks.figures import Figure, judge_range, median, microseconds, percentile, runs, seconds_text
from benchmarks.server import BENCH_SETTINGS, BenchConfigError, BenchServer, apply_bench_settings, bench_server
from benchmarks.usage import server_sample, wait_with_cpu
from benchmarks.worker_throughput import JobPath, enqueue_jobs
from failure_handlers.alerts.notifier import SEEN_SENTINEL
from failure_handlers.alerts.outbox import Outbox
from failure_handlers.dev.polling import wait_until
from failure_handlers.dev.worker_process import PROJECT_ROOT, start_worker, stop_worker
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.runtime import settings

SECTION = "11. Failure storm"
QUEUE = "default"
WORKERS = 4
FULL_JOBS = 20_000
PROBE_EVERY_SECONDS = 0.01
ALERT_INTERVAL_SECONDS = 1
PASSES_AFTER_DRAIN = 3
DRAIN_TARGET = 0.85  # plain RQ's time to drain / ours
PING_FACTOR = 1.5  # ours' p99 PING latency at most this many times plain RQ's
TIMEOUT_SECONDS = 3600
CHUNK = 1_000
RQ_TIMESTAMP = "%Y-%m-%dT%H:%M:%S.%fZ"  # how RQ 3.0 stores started_at / ended_at
T = TypeVar("T")


@dataclass(frozen=True)
class StormRun:
    jobs: int
    drain_seconds: float  # first started_at to last ended_at
    wall_seconds: float  # the workers' start to the last one's exit
    cost: RunCost  # the 4 workers (with work-horses), the server
    pings: tuple[float, ...]  # PING latencies during the storm, seconds
    entries: int | None = None  # ours: DLQ entries at the end
    dropped: int | None = None  # ours: entries the DLQ's cap dropped
    groups: tuple[tuple[str, int], ...] = ()  # ours: (fingerprint, entries) of every group
    alerts: tuple[tuple[str, str], ...] = ()  # ours: (rule, subject) of every alert message received
    load: float | None = None  # the machine's 1-min load average when the run ended

    @property
    def ping_p99(self) -> float:
        return percentile(self.pings, 0.99)


# -- the figures (pure) ------------------------------------------------------------------------------


def alert_figures(run: StormRun) -> list[Figure]:
    """Exactly one message per (rule, subject), and how many name the storm's group."""
    counts = Counter(run.alerts)
    listed = ", ".join(f"{rule} {count}" for (rule, _), count in sorted(counts.items())) or "none"
    group = run.groups[0][0] if run.groups else None
    about_group = sorted(rule for rule, subject in run.alerts if subject == group)
    return [
        Figure(
            SECTION,
            f"alert messages received (`rq-dlq alert --watch`, a pass a second, JSON webhook): {len(run.alerts)}",
            listed,
            target="1 per (rule, subject), the group's among them",
            met=bool(counts) and set(counts.values()) == {1} and bool(about_group),
            judged=True,
        ),
        Figure(
            SECTION,
            "alert messages naming the storm's group",
            f"{len(about_group)}" + (f" ({', '.join(about_group)})" if about_group else ""),
            target="1",
            met=len(about_group) == 1,
            judged=True,
        ),
    ]


def dlq_figures(run: StormRun) -> list[Figure]:
    entries = run.entries or 0
    largest = run.groups[0][1] if run.groups else 0
    return [
        Figure(
            SECTION,
            f"DLQ entries at the end ({run.dropped or 0} dropped by the cap)",
            f"{entries:,} of {run.jobs:,}",
            target=f"= {run.jobs:,}",
            met=entries == run.jobs,
            judged=True,
        ),
        Figure(
            SECTION,
            "failure groups at the end",
            f"{len(run.groups)}" + (f" (largest: {largest:,} entries)" if run.groups else ""),
            target="1 group holding every entry",
            met=len(run.groups) == 1 and largest == run.jobs,
            judged=True,
        ),
    ]


def storm_figures(ours: Sequence[StormRun], plain: Sequence[StormRun], workers: int) -> list[Figure]:
    """The rows of one storm benchmark: ours[n] and plain[n] ran back to back."""
    jobs = ours[0].jobs
    drain = [p.drain_seconds / o.drain_seconds for o, p in zip(ours, plain, strict=True)]
    pings = [o.ping_p99 / p.ping_p99 for o, p in zip(ours, plain, strict=True)]
    rows = [
        Figure(
            SECTION,
            f"{jobs:,} always-failing jobs, {workers} `rq worker --burst` processes: time to drain "
            f"(first start to last end; 1-min load at the end of each run: {_loads(ours)} / {_loads(plain)})",
            runs([run.drain_seconds for run in ours], seconds_text),
            runs([run.drain_seconds for run in plain], seconds_text),
            median(drain),
            target=f">= {DRAIN_TARGET:.2f}",
            met=judge_range(min(drain), max(drain), DRAIN_TARGET, at_least=True),
            spread=f"{min(drain):.3f}–{max(drain):.3f}" if len(drain) > 1 else "one pair",
            judged=True,
        ),
        Figure(
            SECTION,
            "the same, wall time from the workers' start to the last exit (secondary)",
            runs([run.wall_seconds for run in ours], seconds_text),
            runs([run.wall_seconds for run in plain], seconds_text),
            median([p.wall_seconds for p in plain]) / median([o.wall_seconds for o in ours]),
        ),
        Figure(
            SECTION,
            f"server PING latency p99 during the storm (a separate prober, a PING every "
            f"{PROBE_EVERY_SECONDS * 1000:.0f} ms; {sum(len(run.pings) for run in ours):,} / "
            f"{sum(len(run.pings) for run in plain):,} PINGs)",
            runs([run.ping_p99 for run in ours], microseconds),
            runs([run.ping_p99 for run in plain], microseconds),
            1 / median(pings),
            target=f"ours <= {PING_FACTOR}x plain (ratio >= {1 / PING_FACTOR:.3f})",
            met=judge_range(min(pings), max(pings), PING_FACTOR, at_least=False),
            spread=f"ours/plain {min(pings):.2f}–{max(pings):.2f}" if len(pings) > 1 else "one pair",
            judged=True,
        ),
        cost_figure(
            SECTION, "server CPU per job (INFO cpu)", SERVER_CPU, [r.cost for r in ours], [r.cost for r in plain]
        ),
        cost_figure(
            SECTION, f"worker CPU per job ({workers} workers with their work-horses, wait4)", WORKER_CPU,
            [r.cost for r in ours], [r.cost for r in plain],
        ),
        cost_figure(
            SECTION, "server commands per job (INFO commandstats, incl. inside Lua; the prober's PINGs left out)",
            COMMANDS, [r.cost for r in ours], [r.cost for r in plain],
        ),
    ]  # fmt: skip
    last = ours[-1]
    return rows + dlq_figures(last) + alert_figures(last)


def _loads(results: Sequence[StormRun]) -> str:
    return ", ".join("?" if run.load is None else f"{run.load:.1f}" for run in results)


# -- measuring ---------------------------------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server on a free loopback port that keeps every JSON body POSTed to it."""

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []
        received = self.messages

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/storm"

    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


@contextmanager
def ping_prober(url: str) -> Iterator[list[float]]:
    """The prober process, running for the duration; the list is filled with its latencies at the end."""
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.ping_prober", str(PROBE_EVERY_SECONDS)],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(url + "\n")
    process.stdin.close()
    latencies: list[float] = []
    try:
        if process.stdout.readline().strip() != "ready":
            raise RuntimeError("the PING prober did not start")
        yield latencies
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        output = process.stdout.read()  # to its end: the prober prints its JSON line and exits
        process.wait(timeout=30)
        lines = output.strip().splitlines()
        if lines:
            latencies.extend(json.loads(lines[-1]))


@contextmanager
def alert_notifier(server: BenchServer, env: dict[str, str], log_dir: Path) -> Iterator[None]:
    """`rq-dlq alert --watch --interval 1` (the Procfile's `alerts` process), after its first pass."""
    command = [
        str(Path(sys.executable).parent / "rq-dlq"),
        "alert",
        "--watch",
        "--interval",
        str(ALERT_INTERVAL_SECONDS),
    ]
    connection = server.connect()
    key = DeadLetterQueue.from_settings(connection, settings().dlq, settings().archive).keys.alert_groups_seen
    with open(log_dir / "alerts.log", "wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until(lambda: connection.zscore(key, SEEN_SENTINEL) is not None, 60, "the alert notifier's first pass")
            yield
        finally:
            stop_worker(process)


def wait_for_alert_passes(connection: Redis, dlq: DeadLetterQueue, after: float) -> None:
    """`PASSES_AFTER_DRAIN` notifier passes begun after `after` (epoch seconds), nothing pending."""
    outbox = Outbox(connection, dlq.keys, 30, 3600)
    stamps: set[float] = set()

    def done() -> bool:
        stamp = connection.zscore(dlq.keys.alert_groups_seen, SEEN_SENTINEL)
        if stamp is not None and stamp > after:
            stamps.add(stamp)
        return len(stamps) >= PASSES_AFTER_DRAIN and outbox.pending() == 0

    wait_until(done, 120, f"{PASSES_AFTER_DRAIN} alert passes after the storm and an empty outbox")


def drain_window(connection: Redis, job_ids: Sequence[str]) -> float:
    """Seconds from the first job's start to the last one's end; checks that every job failed."""
    firsts, lasts, unfailed = [], [], 0
    for start in range(0, len(job_ids), CHUNK):
        with connection.pipeline(transaction=False) as pipe:
            for job_id in job_ids[start : start + CHUNK]:
                pipe.hmget(Job.key_for(job_id), "started_at", "ended_at", "status")
            rows = pipe.execute()
        for started, ended, status in rows:
            if status != b"failed" or not started or not ended:
                unfailed += 1
                continue
            firsts.append(started)
            lasts.append(ended)
    if unfailed:
        raise RuntimeError(f"{unfailed} of {len(job_ids)} storm jobs did not end failed")
    # RQ's timestamps (%Y-%m-%dT%H:%M:%S.%fZ) sort as text.
    return (_timestamp(max(lasts)) - _timestamp(min(firsts))).total_seconds()


def _timestamp(raw: bytes) -> datetime:
    return datetime.strptime(raw.decode(), RQ_TIMESTAMP)


def run_storm(server: BenchServer, jobs: int, workers: int, ours: bool, log_dir: Path) -> StormRun:
    connection = server.fresh()
    job_ids = enqueue_jobs(connection, JobPath.FAILURE, jobs, ours)
    env = {**server.worker_env(), "DLQ_MAX_ENTRIES": str(max(jobs, int(BENCH_SETTINGS["DLQ_MAX_ENTRIES"])))}
    receiver = WebhookReceiver()
    alert_env = {**env, "ALERT_WEBHOOK_URL": receiver.url, "ALERT_WEBHOOK_FORMAT": "json"}
    with receiver.running(), alert_notifier(server, alert_env, log_dir) if ours else nullcontext():
        with ping_prober(server.url) as pings:
            before = server_sample(connection, leave_out=("info", "ping"))
            started = time.perf_counter()
            processes, logs = [], []
            try:
                for n in range(workers):
                    log = open(log_dir / f"worker-{n}.log", "wb")  # closed in the finally below
                    logs.append(log)
                    processes.append(
                        start_worker(
                            server.url, [QUEUE], env=env, extra_args=["--burst"], output=log,
                            record_every_job=ours, through_settings=True,
                        )
                    )  # fmt: skip
                results = wait_with_cpu(processes, TIMEOUT_SECONDS)
            except BaseException:
                for process in processes:
                    if process.returncode is None:
                        stop_worker(process)
                raise
            finally:
                for log in logs:
                    log.close()
            wall = time.perf_counter() - started
            used = server_sample(connection, leave_out=("info", "ping")) - before
        drained_at = time.time()
        failed = [code for code, _ in results if code != 0]
        if failed:
            raise RuntimeError(f"{len(failed)} storm worker(s) exited with {failed}; logs in {log_dir}")
        cost = RunCost(jobs, sum(cpu for _, cpu in results), used.cpu_seconds, used.commands)
        window = drain_window(connection, job_ids)
        load = os.getloadavg()[0]
        if not ours:
            return StormRun(jobs, window, wall, cost, tuple(pings), load=load)
        dlq = DeadLetterQueue.from_settings(connection, settings().dlq, settings().archive)
        wait_for_alert_passes(connection, dlq, drained_at)
        stats = dlq.stats(top_groups=1)
        alerts = tuple((str(m.get("rule")), str(m.get("subject"))) for m in receiver.messages)
    groups = tuple(stats.by_kind.get("group", []))
    return StormRun(jobs, window, wall, cost, tuple(pings), stats.total, stats.dropped, groups, alerts, load)


def figures(server: BenchServer, jobs: int, pairs: int = 1, workers: int = WORKERS) -> list[Figure]:
    results: dict[bool, list[StormRun]] = {True: [], False: []}
    with tempfile.TemporaryDirectory(prefix="bench-storm-") as log_dir:
        for pair in range(pairs):
            for ours in (True, False) if pair % 2 == 0 else (False, True):
                results[ours].append(run_storm(server, jobs, workers, ours, Path(log_dir)))
    return storm_figures(results[True], results[False], workers)


def main() -> int:
    """`make bench-storm ARGS="--jobs 4000"`: the storm alone, its rows printed (no file written)."""
    parser = argparse.ArgumentParser(description="Item 4: a failure storm, ours vs plain RQ (no file written)")
    parser.add_argument("--jobs", type=int, default=FULL_JOBS, help=f"jobs per storm [{FULL_JOBS:,}]")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"rq worker processes [{WORKERS}]")
    parser.add_argument("--pairs", type=int, default=1, help="ours/plain pairs [1]")
    options = parser.parse_args()
    if options.jobs < 2 or options.workers < 1 or options.pairs < 1:
        parser.error("--jobs must be at least 2, --workers and --pairs at least 1")
    load = report.LoadWatch()
    apply_bench_settings()
    started = time.perf_counter()
    try:
        with bench_server() as server:
            print(f"storm benchmark on {server.description}", file=sys.stderr, flush=True)
            rows = figures(server, options.jobs, options.pairs, options.workers)
    except BenchConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    load.sample()
    print(report.table(rows))
    print()
    print(report.summary(rows))
    print(f"\n{time.perf_counter() - started:.0f} s; load: {load.describe()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
