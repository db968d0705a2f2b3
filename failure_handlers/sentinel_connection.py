"""Connections to a Sentinel-managed primary that ask the Sentinels again when they reconnect.

redis-py 8.1's `SentinelManagedConnection` asks the Sentinels for the primary's address only in
`connect()`, which the pool calls when it hands out a connection. A connection that drops WHILE in
use (a worker blocked in BLPOP/BZPOPMIN when the primary shuts down) is reconnected inside
`send_packed_command` by the command's retry, straight to the address it had: the old primary. Every
retry then hits the dead server until the retry budget is spent (~35 s, `runtime.FAILOVER_RETRIES`),
and only RQ's own loop, a second later, gets a fresh connection from the pool. Here a reconnection
asks the Sentinels first, so the retry lands on the promoted replica as soon as there is one.

A write the primary refuses with `NOREPLICAS` (`min-replicas-to-write`: no replica has acknowledged
within `min-replicas-max-lag`) is a failover in progress too: the old primary, back from a freeze,
whose replica left it to become the primary; or the new primary, whose only replica (the old
primary) is still restarting or resyncing. A refused write was not executed, so it is safe to send
again: the connection drops and raises `NoReplicasError`, a `ConnectionError`, which the command's
failover retry (`runtime.failover_retry`) sends again, with backoff, to the primary the Sentinels
name then. Measured in the failover chaos experiment (`chaos/failover.py`): without it, every
process on the old primary failed its writes (workers exited 1 in a restart loop, a job's DLQ write
was refused and its real cause later replaced by `AbandonedJobError`).
"""

from __future__ import annotations

from typing import Any

from redis import Redis
from redis.exceptions import ConnectionError, RedisError, ResponseError
from redis.sentinel import SentinelConnectionPool, SentinelManagedConnection, SentinelManagedSSLConnection

NO_REPLICAS = "NOREPLICAS"  # the error code of a write refused under min-replicas-to-write


class NoReplicasError(ConnectionError):
    """The primary refused a write for want of replicas (NOREPLICAS): retried like a lost connection."""


class FailoverConnection(SentinelManagedConnection):
    """`SentinelManagedConnection` that reconnects to the primary the Sentinels name now."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self._sock:
            # once, no retry of its own: MasterNotFoundError/ConnectionError go to the command's failover retry
            self._connect_retry()
        super().send_packed_command(command, check_health)

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)
        except ResponseError as error:
            if self.connection_pool.is_master and str(error).startswith(NO_REPLICAS):
                self.disconnect()  # the replies after this one are not read: this connection is done
                raise NoReplicasError(f"the primary refused a write: {error}") from error
            raise


class FailoverSSLConnection(FailoverConnection, SentinelManagedSSLConnection):
    """The same over TLS."""


def failover_connection_class(ssl: bool) -> type[SentinelManagedConnection]:
    """The connection class for `Sentinel.master_for(..., connection_class=...)` (redis-py picks the TLS
    class from `ssl` only when no class is given)."""
    return FailoverSSLConnection if ssl else FailoverConnection


def primary_moved(connection: Redis) -> bool:
    """True when `connection` follows a Sentinel-managed primary and the Sentinels now name another
    server than the one its connections were last made to (its idle connections are then dropped, so the
    next command goes to the primary named now). False for any other connection, or when no Sentinel
    names a primary right now.

    A write acknowledged by fewer replicas than asked (`DLQ_WAIT_REPLICAS`) while the primary was being
    replaced went to a server that will discard it when it resyncs as a replica (a primary back from a
    freeze, before Sentinel demotes it): the caller writes again, to the new primary.
    """
    pool = connection.connection_pool
    if not isinstance(pool, SentinelConnectionPool) or not pool.is_master:
        return False
    before = pool.master_address
    try:
        return bool(before) and pool.get_master_address() != before
    except RedisError:  # MasterNotFoundError: an election under way
        return False
