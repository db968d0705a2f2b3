"""Count a client's round trips (for the benchmarks and the tests of the handler's cost).

redis-py sends one packed write per round trip (a whole pipeline is one), so counting writes on the
client counts round trips.
"""

from __future__ import annotations

from typing import Any

from redis import ConnectionPool, Redis


class RoundTrips:
    """Writes sent by clients made with `counting_client`, since the process started."""

    count = 0


def counting_client(url: str) -> Redis:
    """A client whose every round trip (one packed write) increments `RoundTrips.count`."""
    pool = ConnectionPool.from_url(url)
    base = pool.connection_class

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        RoundTrips.count += 1
        base.send_packed_command(self, command, check_health)

    pool.connection_class = type(f"Counting{base.__name__}", (base,), {"send_packed_command": send_packed_command})
    return Redis(connection_pool=pool)
