"""Connections to a Sentinel-managed primary that ask the Sentinels again when they reconnect.

redis-py 8.1's `SentinelManagedConnection` asks the Sentinels for the primary's address only in
`connect()`, which the pool calls when it hands out a connection. A connection that drops WHILE in
use (a worker blocked in BLPOP/BZPOPMIN when the primary shuts down) is reconnected inside
`send_packed_command` by the command's retry, straight to the address it had: the old primary. Every
retry then hits the dead server until the retry budget is spent (~35 s, `runtime.FAILOVER_RETRIES`),
and only RQ's own loop, a second later, gets a fresh connection from the pool. Here a reconnection
asks the Sentinels first, so the retry lands on the promoted replica as soon as there is one.
"""

from __future__ import annotations

from typing import Any

from redis.sentinel import SentinelManagedConnection, SentinelManagedSSLConnection


class FailoverConnection(SentinelManagedConnection):
    """`SentinelManagedConnection` that reconnects to the primary the Sentinels name now."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        if not self._sock:
            # once, no retry of its own: MasterNotFoundError/ConnectionError go to the command's failover retry
            self._connect_retry()
        super().send_packed_command(command, check_health)


class FailoverSSLConnection(FailoverConnection, SentinelManagedSSLConnection):
    """The same over TLS."""


def failover_connection_class(ssl: bool) -> type[SentinelManagedConnection]:
    """The connection class for `Sentinel.master_for(..., connection_class=...)` (redis-py picks the TLS
    class from `ssl` only when no class is given)."""
    return FailoverSSLConnection if ssl else FailoverConnection
