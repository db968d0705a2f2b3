"""`DLQ_WAIT_REPLICAS`: a real worker's DLQ write waits (`WAIT`, same round trip) until a replica has it.

A primary and one replica (Debian's `redis-server`, tests/redis_servers.py). With the replica up, the
entry is on the replica as soon as the worker's handler has returned; with the replica stopped, the
handler logs one warning after `DLQ_WAIT_TIMEOUT_MS` and the job is dead-lettered on the primary all the same.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from redis import Redis

from failure_handlers import DeadLetterQueue
from tests.conftest import TEST_ENV
from tests.factories import dead_entry
from tests.polling import wait_for
from tests.redis_servers import DATA_ARGS, RedisProcess, requires_redis_server, run_burst_worker, start_server
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job

pytestmark = [pytest.mark.integration, requires_redis_server]

WAIT_TIMEOUT_MS = 1500


@dataclass
class Replicated:
    primary: RedisProcess
    replica: RedisProcess

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.primary.port}/0"


@pytest.fixture
def replicated(tmp_path: Path) -> Iterator[Replicated]:
    primary = start_server(tmp_path / "primary", [*DATA_ARGS, "--repl-diskless-sync-delay", "0"])
    try:
        replica = start_server(tmp_path / "replica", [*DATA_ARGS, "--replicaof", "127.0.0.1", str(primary.port)])
        try:
            # connected is not enough: WAIT counts a replica only once its first sync is done
            wait_for(
                lambda: replica.client().info("replication").get("master_link_status") == "up",
                15,
                "the replica to sync",
            )
            yield Replicated(primary, replica)
        finally:
            replica.stop()
    finally:
        primary.stop()


def dlq_on(connection: Redis, wait_replicas: int = 0) -> DeadLetterQueue:
    return DeadLetterQueue(
        connection,
        TEST_ENV["DLQ_PREFIX"],
        int(TEST_ENV["DLQ_TTL_SECONDS"]),
        wait_replicas=wait_replicas,
        wait_timeout_ms=WAIT_TIMEOUT_MS,
    )


def dead_letter_one_job(url: str, log_path: Path) -> str:
    """Enqueue a job that fails permanently and run a burst worker (the Procfile's line) until it exits."""
    job = enqueue(chaos_job, "permanent", connection=Redis.from_url(url))
    run_burst_worker(url, log_path, {"DLQ_WAIT_REPLICAS": "1", "DLQ_WAIT_TIMEOUT_MS": str(WAIT_TIMEOUT_MS)})
    return job.id


def test_with_one_replica_to_wait_for_the_entry_is_on_the_replica_when_the_handler_returns(replicated, tmp_path):
    log_path = tmp_path / "worker.log"
    job_id = dead_letter_one_job(replicated.url(), log_path)
    with replicated.replica.client() as replica:
        entry = dlq_on(replica).get(job_id)  # read at once: no polling, the WAIT already happened
    assert entry is not None and entry.exc_type.endswith("ChaosPermanentError"), log_path.read_text()
    assert "replicas acknowledged" not in log_path.read_text()


def test_with_the_replica_stopped_the_handler_warns_after_the_timeout_and_the_job_is_dead_lettered(
    replicated, tmp_path
):
    replicated.replica.stop()
    wait_for(lambda: replicated.primary.client().info("replication")["connected_slaves"] == 0, 15, "the replica gone")
    log_path = tmp_path / "worker.log"
    job_id = dead_letter_one_job(replicated.url(), log_path)
    entry = dlq_on(replicated.primary.client()).get(job_id)
    assert entry is not None and entry.exc_type.endswith("ChaosPermanentError"), log_path.read_text()
    warnings = [line for line in log_path.read_text().splitlines() if "replicas acknowledged" in line]
    assert len(warnings) == 1, log_path.read_text()
    assert "WARNING" in warnings[0] and job_id in warnings[0] and "0 of 1" in warnings[0], warnings


def test_the_wait_is_in_the_write_round_trip_and_takes_the_timeout_only_when_replicas_are_missing(replicated):
    connection = replicated.primary.client()
    dlq = dlq_on(connection, wait_replicas=1)
    dlq.add(dead_entry("loads-the-script"))
    started = time.monotonic()
    written = dlq.add_replicated(dead_entry("with-the-replica"))
    assert (written.replicas, written.short_of_replicas) == (1, False)
    assert time.monotonic() - started < WAIT_TIMEOUT_MS / 1000
    replicated.replica.stop()
    wait_for(lambda: connection.info("replication")["connected_slaves"] == 0, 15, "the replica gone")
    started = time.monotonic()
    written = dlq.add_replicated(dead_entry("without-the-replica"))
    assert (written.replicas, written.short_of_replicas) == (0, True)
    assert time.monotonic() - started >= WAIT_TIMEOUT_MS / 1000
    assert dlq.get("without-the-replica") is not None


def test_no_wait_is_sent_when_no_replica_is_asked_for(replicated):
    connection = replicated.primary.client()
    before = connection.info("commandstats").get("cmdstat_wait", {}).get("calls", 0)
    written = dlq_on(connection).add_replicated(dead_entry("no-wait"))
    assert written.replicas is None and not written.short_of_replicas
    assert connection.info("commandstats").get("cmdstat_wait", {}).get("calls", 0) == before
