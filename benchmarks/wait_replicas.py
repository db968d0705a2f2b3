"""What `DLQ_WAIT_REPLICAS` costs: the failure handler's time per final failure with N=0, N=1, and N=1
with the replica gone (the whole `DLQ_WAIT_TIMEOUT_MS`), on a real primary and replica.

    .venv/bin/python benchmarks/wait_replicas.py [--failures 300]

Starts Debian's `redis-server` twice on free loopback ports (persistence off; the replica with
`--replicaof`), calls `failure_handlers.handler.on_failure` in this process exactly as RQ calls it for a
job with no retries left, and prints the median and p95 of wall time and CPU time (`time.process_time`)
per call. Alternates N=0 and N=1 in rounds so a noisy machine affects both alike. Then, with
`min-replicas-to-write 1` on the primary: the handler's time, and how long after the replica stops
answering (SIGSTOP) the primary refuses writes (NOREPLICAS).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from redis.exceptions import ResponseError
from rq.job import Job

from failure_handlers import handler, runtime
from failure_handlers.logging_setup import configure_logging
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job

ROUNDS = 5
TIMEOUT_MS = 1000
MAX_LAG_SECONDS = 10  # Redis' default


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def redis_server(directory: Path, *args: str) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A `redis-server` on a free port, until the block ends; yields the port and the process."""
    port = free_port()
    directory.mkdir(parents=True)
    command = [str(shutil.which("redis-server")), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    process = subprocess.Popen(
        [*command, "--save", "", "--appendonly", "no", "--repl-diskless-sync-delay", "0", *args],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            Redis(port=port).ping()
            break
        except Exception:  # noqa: BLE001 - not answering yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    try:
        yield port, process
    finally:
        process.terminate()
        process.wait()


def failed_jobs(connection: Redis, count: int) -> list[Job]:
    """Jobs as RQ hands them to the failure callback on their last run (no retries left)."""
    jobs = [enqueue(chaos_job, "permanent", connection=connection, retry=None) for _ in range(count)]
    for job in jobs:
        job.retries_left = 0
    return jobs


def handler_times(connection: Redis, wait_replicas: int, count: int) -> tuple[list[float], list[float]]:
    """Wall and CPU seconds of `on_failure` per final failure with DLQ_WAIT_REPLICAS=wait_replicas."""
    os.environ["DLQ_WAIT_REPLICAS"] = str(wait_replicas)
    runtime.settings.cache_clear()
    jobs = failed_jobs(connection, count)
    try:
        raise RuntimeError("benchmark: the job's own failure")
    except RuntimeError as error:
        failure = (type(error), error, error.__traceback__)
    walls, cpus = [], []
    for job in jobs:
        wall, cpu = time.perf_counter(), time.process_time()
        handler.on_failure(job, connection, *failure)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return walls, cpus


def summary(label: str, walls: list[float], cpus: list[float]) -> str:
    def ms(values: list[float], q: int) -> str:
        value = statistics.median(values) if q == 50 else statistics.quantiles(values, n=100)[q - 1]
        return f"{value * 1000:.3f}"

    return f"{label:<28} wall median {ms(walls, 50)} ms, p95 {ms(walls, 95)} ms; CPU median {ms(cpus, 50)} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", type=int, default=300, help="final failures per setting and round")
    failures = parser.parse_args().failures
    if not shutil.which("redis-server"):
        sys.exit("error: needs Debian's redis-server binary (apt-get install redis-server)")
    os.environ.update(DLQ_WAIT_TIMEOUT_MS=str(TIMEOUT_MS), LOG_LEVEL="CRITICAL", DLQ_PREFIX="bench:dlq:")
    configure_logging(runtime.settings())
    with tempfile.TemporaryDirectory() as temporary, redis_server(Path(temporary, "primary")) as (primary, _):
        with redis_server(Path(temporary, "replica"), "--replicaof", "127.0.0.1", str(primary)) as (replica, process):
            replica_client = Redis(port=replica)
            while replica_client.info("replication").get("master_link_status") != "up":
                time.sleep(0.05)
            connection = Redis(port=primary)
            handler_times(connection, 1, 20)  # loads the scripts, warms the connection
            results: dict[int, tuple[list[float], list[float]]] = {0: ([], []), 1: ([], [])}
            for _ in range(ROUNDS):
                for wait in (0, 1):
                    walls, cpus = handler_times(connection, wait, failures)
                    results[wait][0].extend(walls)
                    results[wait][1].extend(cpus)
            connection.config_set("min-replicas-to-write", 1)
            connection.config_set("min-replicas-max-lag", MAX_LAG_SECONDS)
            guarded = handler_times(connection, 0, failures)
            process.send_signal(signal.SIGSTOP)  # a replica that stops answering (hung, cut off)
            refused_after = seconds_until_writes_are_refused(connection)
            process.kill()
            process.wait()
        print(f"{failures * ROUNDS} final failures each, Redis {connection.info('server')['redis_version']}, loopback")
        for wait, (walls, cpus) in results.items():
            print(summary(f"DLQ_WAIT_REPLICAS={wait}", walls, cpus))
        print(summary("=0, min-replicas-to-write 1", *guarded))
        print(
            f"min-replicas-max-lag {MAX_LAG_SECONDS}: writes refused (NOREPLICAS) {refused_after:.1f} s"
            " after the replica stopped answering"
        )
        connection.config_set("min-replicas-to-write", 0)
        gone = handler_times(connection, 1, 5)  # the replica has stopped: every WAIT runs into its timeout
        print(summary(f"=1, replica gone ({TIMEOUT_MS} ms)", *gone))


def seconds_until_writes_are_refused(connection: Redis) -> float:
    """From now (the replica just stopped) until the primary answers a write with NOREPLICAS."""
    started = time.monotonic()
    while True:
        try:
            connection.set("bench:probe", 1)
        except ResponseError as error:
            if "NOREPLICAS" in str(error):
                return time.monotonic() - started
            raise
        time.sleep(0.05)


if __name__ == "__main__":
    main()
