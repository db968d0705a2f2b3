"""A server without persistence brought back after a failover is empty until its first sync: Sentinel
may promote it then, and every key is lost. `replica-priority 0` until the sync is done prevents it.

What made `test_failover_chaos.py` lose 21 of 24 jobs once, under three test suites at once: the old
primary, shut down and started again as a replica of the new one (`chaos/failover.py` `_shut_down`), was
still syncing when the Sentinels (down-after 1 s) took the new primary for down. A replica that never
synced reports `master_link_down_since_seconds:-1`, which passes Sentinel's "disconnected too long"
check, so Sentinel promoted the empty server and the other resynced from it.

Here the new primary is frozen (SIGSTOP) before the old server comes back, so that server can never
sync: the Sentinels must choose between an empty replica and no failover. Debian's `redis-server` and
three Sentinels on free ports (tests/redis_servers.py).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chaos.failover import DEFAULT_REPLICA_PRIORITY
from tests.polling import wait_for
from tests.redis_servers import MASTER_NAME, RedisProcess, SentinelSetup, requires_redis_server, sentinel_setup

pytestmark = [pytest.mark.integration, requires_redis_server]

KEYS = 50
FAILOVER_SECONDS = 60  # a failover takes a few seconds; an aborted one is retried after 2 x failover-timeout (6 s)


def _named_by_every_sentinel(setup: SentinelSetup, server: RedisProcess) -> bool:
    ports = set()
    for sentinel in setup.sentinels:
        with sentinel.client() as client:
            ports.add(int(client.sentinel_get_master_addr_by_name(MASTER_NAME)[1]))
    return ports == {server.port}


def _sentinel_logs(setup: SentinelSetup) -> str:
    return "\n".join(sentinel.log() for sentinel in setup.sentinels)


def _thaw(server: RedisProcess) -> None:
    os.kill(server.process.pid, signal.SIGCONT)


@contextmanager
def _restarted_beside_a_frozen_primary(
    tmp_path: Path, restart_args: list[str]
) -> Iterator[tuple[SentinelSetup, RedisProcess, RedisProcess]]:
    """KEYS keys on the primary and its replica; the primary shut down and the replica promoted; the new
    primary frozen (until `_thaw`), then the old server started again as its replica with `restart_args`."""
    with sentinel_setup(tmp_path / "servers") as setup:
        old = setup.current_primary()
        new = setup.other(old)
        with old.client() as client:
            client.mset({f"key-{number}": number for number in range(KEYS)})
            assert client.wait(1, 5000) == 1
        old.stop()
        wait_for(lambda: setup.settled_on(new), FAILOVER_SECONDS, "every Sentinel to promote the replica")
        os.kill(new.process.pid, signal.SIGSTOP)
        try:
            old.start_again(["--replicaof", "127.0.0.1", str(new.port), *restart_args])
            yield setup, old, new
        finally:
            _thaw(new)  # stopping a frozen server would wait for ever


def test_an_empty_restarted_replica_is_promoted_and_every_key_is_lost_without_a_priority_of_0(tmp_path):
    """The hazard itself: without this, the guarded case below could pass because no failover was tried."""
    with _restarted_beside_a_frozen_primary(tmp_path, []) as (setup, old, new):
        wait_for(
            lambda: _named_by_every_sentinel(setup, old), FAILOVER_SECONDS, "the Sentinels to promote the empty server"
        )
        _thaw(new)  # running again, it is demoted and copies the empty data set
        wait_for(lambda: setup.is_replica_of(new, old), FAILOVER_SECONDS, "the other to resync from the empty one")
        with new.client() as client:
            assert client.dbsize() == 0


def test_a_restarted_replica_with_priority_0_is_never_promoted_and_no_key_is_lost(tmp_path):
    with _restarted_beside_a_frozen_primary(tmp_path, ["--replica-priority", "0"]) as (setup, old, new):
        # the Sentinels try, and give up: the only replica may not be promoted
        wait_for(
            lambda: "-failover-abort-no-good-slave" in _sentinel_logs(setup),
            FAILOVER_SECONDS,
            "a Sentinel to try a failover and find no replica to promote",
        )
        assert _named_by_every_sentinel(setup, new)
        _thaw(new)
        wait_for(lambda: setup.is_replica_of(old, new), FAILOVER_SECONDS, "the restarted server to sync")
        with old.client() as client:
            client.config_set("replica-priority", DEFAULT_REPLICA_PRIORITY)
        for server in (old, new):
            with server.client() as client:
                assert client.dbsize() == KEYS
