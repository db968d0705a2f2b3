"""A worker on the Procfile's line rides out a Sentinel failover (docs/production-redis.md#failover).

`rq worker default --with-scheduler -c failure_handlers.rq_settings` on `REDIS_URL=redis+sentinel://...`
(a primary, a replica and three Sentinels declaring the primary down after 1 s: tests/redis_servers.py).
The primary is shut down while the worker is idle, shut down while it runs a job, or frozen (SIGSTOP)
for 5 s while Sentinel promotes the replica. Each time the worker process keeps running and
dead-letters a job enqueued after the failover, on the NEW primary. The figure printed (`failover
pause`) is from the disruption to that job's DLQ entry, the job being enqueued as soon as the
Sentinels name the new primary.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis import Redis

from failure_handlers import DeadLetterQueue
from failure_handlers.dev.worker_process import start_worker, stop_worker
from failure_handlers.errors import RedisUnavailable
from failure_handlers.runtime import connect
from tests.conftest import TEST_ENV
from tests.polling import wait_for
from tests.redis_servers import SentinelSetup, requires_redis_server, sentinel_setup
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job

pytestmark = [pytest.mark.integration, requires_redis_server]

PASSWORD = "pr1mary-s3cret"
FREEZE_SECONDS = 5
# Sentinel's promotion (~2-5 s here) and the worker's reconnection; for a frozen primary also Sentinel
# demoting it once it is back (~10 s, Sentinel's INFO period) before the worker lets go of it. With
# room for a loaded machine, and well below the ~36 s a worker paused before it asked the Sentinels again
# on reconnection (failure_handlers/sentinel_connection.py).
SHUTDOWN_PAUSE_BOUND_SECONDS = 20
FREEZE_PAUSE_BOUND_SECONDS = 30


@contextmanager
def procfile_worker(url: str, log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log_path, "wb") as log:
        worker = start_worker(url, env=TEST_ENV, output=log, through_settings=True)
    try:
        wait_for(lambda: "Listening on" in log_path.read_text(), 30, "the worker to listen")
        yield worker
    finally:
        stop_worker(worker)


def dlq_on(connection: Redis) -> DeadLetterQueue:
    return DeadLetterQueue(connection, TEST_ENV["DLQ_PREFIX"], int(TEST_ENV["DLQ_TTL_SECONDS"]))


def new_primary(setup: SentinelSetup, url: str) -> Redis:
    """A connection through Sentinel once the Sentinels name the promoted replica."""
    wait_for(lambda: setup.primary_port() == setup.replica.port, 30, "the Sentinels to promote the replica")

    def connected() -> Redis | None:
        try:
            return connect(url)
        except RedisUnavailable:  # a Sentinel may briefly name no primary right after the promotion
            return None

    return wait_for(connected, 15, "a connection to the new primary")


def shut_down(setup: SentinelSetup) -> None:
    setup.primary.stop()


def freeze(setup: SentinelSetup) -> None:
    """SIGSTOP the primary until the Sentinels have promoted the replica (and at least FREEZE_SECONDS)."""
    pid = setup.primary.process.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        time.sleep(FREEZE_SECONDS)  # the freeze itself is the experiment: Sentinel acts meanwhile
        wait_for(lambda: setup.primary_port() == setup.replica.port, 30, "the Sentinels to promote the replica")
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.mark.parametrize(
    ("disrupt", "busy", "bound"),
    [
        (shut_down, False, SHUTDOWN_PAUSE_BOUND_SECONDS),
        (shut_down, True, SHUTDOWN_PAUSE_BOUND_SECONDS),
        (freeze, False, FREEZE_PAUSE_BOUND_SECONDS),
    ],
    ids=["shutdown-idle", "shutdown-running-a-job", "freeze-5s"],
)
def test_the_procfile_worker_survives_and_dead_letters_on_the_new_primary(
    tmp_path: Path, disrupt: Callable[[SentinelSetup], None], busy: bool, bound: float
) -> None:
    with sentinel_setup(tmp_path / "servers", PASSWORD) as setup:
        url = setup.url()
        log_path = tmp_path / "worker.log"
        with procfile_worker(url, log_path) as worker:
            running = None
            if busy:
                running = enqueue(chaos_job, "permanent", 3, connection=connect(url))
                wait_for(lambda: running.get_status(refresh=True) == "started", 20, "the job to start")
                wait_for(lambda: setup.replica.client().exists(running.key), 10, "the replica to have the job")
            started = time.monotonic()
            disrupt(setup)
            primary = new_primary(setup, url)
            after = enqueue(chaos_job, "permanent", connection=primary)
            wait_for(lambda: dlq_on(primary).get(after.id), bound, "the job's DLQ entry")
            pause = time.monotonic() - started
            sys.stderr.write(
                f"failover pause ({'running a job' if busy else 'idle'}, {disrupt.__name__}): {pause:.1f} s\n"
            )
            assert worker.poll() is None, log_path.read_text()
            assert primary.info("server")["tcp_port"] == setup.replica.port
            if running is not None:  # the job that ran through the shutdown: its entry went to the new primary
                wait_for(lambda: dlq_on(primary).get(running.id), 30, "the running job's DLQ entry")
