"""Chaos for the archive: the archiver SIGKILLed mid-batch and restarted, and its PostgreSQL
stopped and started while it writes (a private throw-away cluster, never the machine's server).
Afterwards every dead-lettering has exactly one row, with the outcome it really had."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from redis.exceptions import ResponseError
from sqlalchemy import create_engine, text

from failure_handlers.archive.events import ARCHIVE_GROUP, EventStream
from failure_handlers.archive.settings import archive_url as normalised
from failure_handlers.config import parse_settings
from failure_handlers.dev.worker_process import PROJECT_ROOT, stop_worker
from failure_handlers.dlq.store import DeadLetterQueue
from tests.conftest import TEST_ENV
from tests.factories import dead_entry
from tests.polling import wait_for
from tests.private_postgres import private_cluster

DEAD, DELETED, REQUEUED, LATE = 2_000, 300, 200, 500


def start_archiver(env: dict[str, str], log) -> subprocess.Popen:  # noqa: ANN001 - a file
    return subprocess.Popen(
        [sys.executable, "scripts/dlq.py", "archive", "run"],
        cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_every_dead_lettering_has_one_row_through_archiver_kills_and_a_database_restart(redis, tmp_path):
    with private_cluster() as cluster:
        env = {**TEST_ENV, "ARCHIVE_URL": cluster.url, "ARCHIVE_BATCH_SIZE": "50", "ARCHIVE_CLAIM_IDLE_SECONDS": "1",
               "ARCHIVE_POLL_SECONDS": "1", "LOG_LEVEL": "INFO"}  # fmt: skip
        settings = parse_settings(env)
        dlq = DeadLetterQueue(redis, settings.dlq.prefix, 3600, 100_000, archive_maxlen=100_000)
        ids = [f"chaos-{n:05d}" for n in range(DEAD)]
        dlq.add_many(dead_entry(job_id, minutes_ago=1) for job_id in ids)
        dlq.delete(ids[:DELETED], outcome="deleted", by="chaos")
        dlq.claims.claim([(job_id, "rq:registry:failed:default") for job_id in ids[DELETED : DELETED + REQUEUED]])
        engine = create_engine(normalised(cluster.url))

        def rows() -> int:
            try:
                with engine.connect() as connection:
                    return connection.execute(text("SELECT count(*) FROM failed_jobs")).scalar_one()
            except Exception:  # noqa: BLE001 - the server is down on purpose
                return -1

        assert subprocess.run([sys.executable, "scripts/dlq.py", "archive", "init"], cwd=PROJECT_ROOT,
                              env={**os.environ, **env}, capture_output=True).returncode == 0  # fmt: skip
        log = open(tmp_path / "archiver.log", "wb")  # noqa: SIM115 - shared by both archiver processes
        first = start_archiver(env, log)
        wait_for(lambda: rows() >= 300, 60, "the first archiver to write some batches")
        first.send_signal(signal.SIGKILL)  # mid-run: a batch read, maybe written, not acknowledged
        first.wait()
        second = start_archiver(env, log)
        stream = EventStream(redis, settings.dlq.prefix)
        try:
            # The first archiver may have written 1,000 rows on its own before the kill: the restarted one
            # "goes on" once it has read the stream itself (its consumer exists), i.e. it is past its start-up.
            # Stopping the database before that once made this test wait on an archiver still starting.
            wait_for(lambda: rows() >= 1_000 and consumer_of(second) in consumers(redis, stream.key), 60,
                     "the restarted archiver to read the stream")  # fmt: skip
            cluster.stop("immediate")  # the database crashes while the archiver writes
            late = [f"late-{n:04d}" for n in range(LATE)]
            dlq.add_many(dead_entry(job_id) for job_id in late)

            def holding_a_batch_it_cannot_write() -> bool:
                # Both at once: an error alone may come from its sweep (no batch read yet), and the batch it
                # read stays pending while it retries. It polls every second (ARCHIVE_POLL_SECONDS=1) and backs
                # off at most 2 s by then: 30 s is reached only if it stops reading or stops reporting.
                status = stream.status()
                return bool(status.last_error) and status.pending > 0

            wait_for(holding_a_batch_it_cannot_write, 30, "the archiver to hold a batch it cannot write")
            assert second.poll() is None, "the archiver must wait for its database, not exit"
            cluster.start()
            wait_for(lambda: rows() == DEAD + LATE and stream.status().lag == 0 and stream.status().pending == 0,
                     90, "every event archived")  # fmt: skip
        finally:
            stop_worker(second)
            log.close()
        output = (tmp_path / "archiver.log").read_text()
        assert PASSWORD_FRAGMENT not in output and "pending in Redis" in output

        with engine.connect() as connection:
            found = dict(connection.execute(text("SELECT job_id, outcome FROM failed_jobs")).all())
            per_id = connection.execute(text("SELECT count(*), count(DISTINCT dead_letter_id) FROM failed_jobs")).one()
        engine.dispose()
        expected = {job_id: "deleted" for job_id in ids[:DELETED]}
        expected |= {job_id: "requeued" for job_id in ids[DELETED : DELETED + REQUEUED]}
        expected |= {job_id: "open" for job_id in ids[DELETED + REQUEUED :] + late}
        assert tuple(per_id) == (DEAD + LATE, DEAD + LATE)
        assert found == expected
        assert stream.status().lost == 0


def test_an_archiver_started_while_its_database_is_down_waits_for_it(redis, tmp_path):
    """`rq-dlq archive run` started before its database is up (a reboot in the wrong order, a failover)
    keeps running, says why it waits, and archives everything once the database answers."""
    with private_cluster() as cluster:
        env = {**TEST_ENV, "ARCHIVE_URL": cluster.url, "ARCHIVE_POLL_SECONDS": "1", "LOG_LEVEL": "INFO"}
        settings = parse_settings(env)
        assert subprocess.run([sys.executable, "scripts/dlq.py", "archive", "init"], cwd=PROJECT_ROOT,
                              env={**os.environ, **env}, capture_output=True).returncode == 0  # fmt: skip
        dlq = DeadLetterQueue(redis, settings.dlq.prefix, 3600, 1_000, archive_maxlen=10_000)
        ids = [f"early-{n:03d}" for n in range(120)]
        dlq.add_many(dead_entry(job_id) for job_id in ids)
        cluster.stop("immediate")
        stream = EventStream(redis, settings.dlq.prefix)
        with open(tmp_path / "archiver.log", "wb") as log:
            archiver = start_archiver(env, log)
            try:
                last_error = wait_for(lambda: stream.status().last_error, 60, "the archiver to say why it waits")
                assert "Connection refused" in last_error and PASSWORD_FRAGMENT not in last_error
                assert archiver.poll() is None, "the archiver exited instead of waiting for its database"
                assert stream.status().lag == len(ids)  # nothing read while the database is down
                cluster.start()
                engine = create_engine(normalised(cluster.url))
                try:
                    done = lambda: stream.status().lag == 0 and stream.status().pending == 0  # noqa: E731
                    wait_for(done, 90, "every event archived")
                    with engine.connect() as connection:
                        count = connection.execute(text("SELECT count(DISTINCT job_id) FROM failed_jobs")).scalar_one()
                finally:
                    engine.dispose()
            finally:
                stop_worker(archiver)
        assert count == len(ids)
        output = (tmp_path / "archiver.log").read_text()
        assert "events stay pending in Redis, retrying in" in output and PASSWORD_FRAGMENT not in output


def consumers(redis, stream_key: str) -> set[str]:  # noqa: ANN001 - a Redis client
    """The names of the archive group's consumers (a consumer appears when it first reads)."""
    try:
        return {_name(consumer["name"]) for consumer in redis.xinfo_consumers(stream_key, ARCHIVE_GROUP)}
    except ResponseError:  # no group yet
        return set()


def consumer_of(process: subprocess.Popen) -> str:
    return f"{socket.gethostname()}:{process.pid}"  # as EventStream names its consumer


def _name(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


PASSWORD_FRAGMENT = "archive-test-pw"
