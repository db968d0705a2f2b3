"""`REDIS_URL=redis+sentinel://...` for every process, on a real primary, replica and three Sentinels.

The servers are Debian's `redis-server` on free loopback ports (tests/redis_servers.py), with a
password on the primary and another on the Sentinels; the Sentinels declare the primary down after
1 s. The figures printed (`failover pause`) are the time a command waited for the new primary.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from redis import Redis
from redis.exceptions import ResponseError

from failure_handlers import DeadLetterQueue
from failure_handlers.runtime import connect
from failure_handlers.sentinel_connection import primary_moved
from tests.conftest import TEST_ENV
from tests.factories import dead_entry
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from tests.redis_servers import MASTER_NAME, SentinelSetup, requires_redis_server, run_burst_worker, sentinel_setup
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job

pytestmark = [pytest.mark.integration, requires_redis_server]

PASSWORD = "pr1mary-s3cret"
SENTINEL_PASSWORD = "s3ntinel-s3cret"
WRONG_PASSWORD = "wr0ng-s3cret"
SECRETS = (PASSWORD, SENTINEL_PASSWORD, WRONG_PASSWORD)


@pytest.fixture(scope="module")
def sentinels(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SentinelSetup]:
    """One setup for the tests that leave the topology as it is."""
    with sentinel_setup(tmp_path_factory.mktemp("sentinel"), PASSWORD, SENTINEL_PASSWORD) as setup:
        yield setup


@pytest.fixture
def primary(sentinels: SentinelSetup) -> Iterator[Redis]:
    """The primary, emptied for each test (read directly, not through Sentinel)."""
    with sentinels.primary.client() as client:
        client.flushall()
        yield client


def dlq_on(connection: Redis) -> DeadLetterQueue:
    return DeadLetterQueue(connection, TEST_ENV["DLQ_PREFIX"], int(TEST_ENV["DLQ_TTL_SECONDS"]))


def listed_ids(url: str) -> list[str]:
    result = run_script("scripts/dlq.py", "list", "--json", env={"REDIS_URL": url})
    assert result.returncode == 0, result.stderr
    return [entry["job_id"] for entry in json.loads(result.stdout)]


def assert_no_secret(*texts: str) -> None:
    printed = "".join(texts)
    assert not [secret for secret in SECRETS if secret in printed], printed


def test_rq_dlq_stats_and_list_read_the_primarys_dlq_through_sentinel(sentinels, primary):
    dlq_on(primary).add(dead_entry("job-behind-sentinel"))
    stats = run_script("scripts/dlq.py", "stats", env={"REDIS_URL": sentinels.url()})
    assert stats.returncode == 0 and "1" in stats.stdout, stats.stderr
    assert listed_ids(sentinels.url()) == ["job-behind-sentinel"]
    assert_no_secret(stats.stdout, stats.stderr)


def test_procfile_worker_on_the_sentinel_url_dead_letters_a_failing_job(sentinels, primary, tmp_path):
    url = sentinels.url()
    job = enqueue(chaos_job, "permanent", connection=connect(url))
    log = run_burst_worker(url, tmp_path / "worker.log")
    entry = dlq_on(primary).get(job.id)
    assert entry is not None and entry.exc_type.endswith("ChaosPermanentError"), log
    assert_no_secret(log)


@pytest.mark.parametrize(
    ("wrong", "fragment"),
    [
        ({"password": WRONG_PASSWORD}, "refused the credentials"),
        ({"sentinel_password": WRONG_PASSWORD}, "check sentinel_password"),
    ],
)
def test_a_wrong_password_is_one_line_exit_2_and_no_password_is_printed(sentinels, wrong, fragment):
    for args in (["stats"], ["list", "--json"]):
        result = run_script("scripts/dlq.py", *args, env={"REDIS_URL": sentinels.url(**wrong)})
        assert_one_line_error(result, fragment, "redis+sentinel://:***@")
        assert_no_secret(result.stdout, result.stderr)


def test_an_unknown_master_name_is_one_line(sentinels):
    url = sentinels.url().replace(f"/{MASTER_NAME}/", "/no-such-master/")
    result = run_script("scripts/dlq.py", "stats", env={"REDIS_URL": url})
    assert_one_line_error(result, "no Sentinel named a reachable primary", "'no-such-master'")
    assert_no_secret(result.stdout, result.stderr)


def test_commands_and_a_long_lived_connection_follow_a_sentinel_failover(tmp_path):
    with sentinel_setup(tmp_path, PASSWORD, SENTINEL_PASSWORD) as setup:
        url = setup.url()
        connection = connect(url)  # a long-lived process's connection, made before the failover
        dlq_on(connection).add(dead_entry("job-before-failover"))
        old_port, new_port = setup.primary.port, setup.replica.port
        wait_for(lambda: setup.replica.client().dbsize() > 0, 10, "the replica to sync")
        with setup.sentinels[0].client() as sentinel:
            sentinel.execute_command("SENTINEL", "FAILOVER", MASTER_NAME)
        wait_for(lambda: setup.primary_port() == new_port, 20, "the Sentinels to promote the replica")
        wait_for(
            lambda: connection.info("server")["tcp_port"] == new_port, 40, "the connection to reach the new primary"
        )
        connection.set("written-after-failover", "yes")
        with setup.replica.client() as new_primary:
            assert new_primary.get("written-after-failover") == b"yes"
        assert setup.primary.client().info("replication")["role"] == "slave"  # the old primary, demoted
        assert listed_ids(url) == ["job-before-failover"]
        assert old_port != new_port


def test_a_long_lived_connection_rides_out_the_primary_shutting_down(tmp_path):
    with sentinel_setup(tmp_path, PASSWORD, SENTINEL_PASSWORD) as setup:
        url = setup.url()
        connection = connect(url)
        dlq_on(connection).add(dead_entry("job-before-shutdown"))
        wait_for(lambda: setup.replica.client().dbsize() > 0, 10, "the replica to sync")
        setup.primary.stop()
        started = time.monotonic()
        connection.set("written-after-shutdown", "yes")  # retried until the Sentinels promote the replica
        pause = time.monotonic() - started
        sys.stderr.write(f"failover pause after the primary shut down: {pause:.1f} s\n")
        assert setup.primary_port() == setup.replica.port
        with setup.replica.client() as new_primary:
            assert new_primary.get("written-after-shutdown") == b"yes"
        assert listed_ids(url) == ["job-before-shutdown"]


def test_a_write_refused_for_want_of_replicas_is_sent_again_through_sentinel_once_one_acknowledges(sentinels, primary):
    """`min-replicas-to-write` during a failover refuses writes (NOREPLICAS) on the old primary and, until
    its replica has synced, on the new one: a Sentinel connection sends them again (sentinel_connection.py);
    a plain connection still gets the error at once."""
    connection = connect(sentinels.url())
    dlq_on(connection).add(dead_entry("loads-the-script"))
    primary.config_set("min-replicas-to-write", 2)  # one replica: every write refused
    relent = threading.Timer(1.5, lambda: primary.config_set("min-replicas-to-write", 1))
    try:
        with pytest.raises(ResponseError, match="NOREPLICAS"):
            primary.set("plain-connection", "1")
        started = time.monotonic()
        relent.start()
        dlq_on(connection).add(dead_entry("refused-then-written"))  # the handler's write: one pipeline, a script
        waited = time.monotonic() - started
    finally:
        relent.cancel()
        primary.config_set("min-replicas-to-write", 0)
    assert waited >= 1.0, "the write went through while it should have been refused"
    assert dlq_on(primary).get("refused-then-written") is not None


def test_primary_moved_is_true_only_when_the_sentinels_name_another_server(sentinels, primary):
    connection = connect(sentinels.url())
    connection.ping()
    assert primary_moved(connection) is False
    connection.connection_pool.proxy.master_address = ("127.0.0.1", 1)  # as if connected to another server
    assert primary_moved(connection) is True
    assert connection.connection_pool.master_address == ("127.0.0.1", sentinels.primary.port)
    assert connection.ping()
