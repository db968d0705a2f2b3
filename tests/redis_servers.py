"""Real Redis servers for the production-Redis tests: a primary, replicas, Sentinels, a TLS server.

The servers themselves (Debian's `redis-server` 7.0 on free loopback ports, never 6379; a Sentinel
setup) are `failure_handlers/dev/redis_servers.py`, shared with the failover chaos experiment; here
the TLS files and server, the burst worker, and `requires_redis_server`, which skips a test with the
reason on a machine without the binary.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

from failure_handlers.dev.redis_servers import (  # noqa: F401 - the tests' names for the shared servers
    DATA_ARGS,
    MASTER_NAME,
    REDIS_SERVER,
    START_TIMEOUT_SECONDS,
    RedisProcess,
    SentinelSetup,
    free_port,
    password_args,
    sentinel_config,
    sentinel_setup,
    start_server,
)

requires_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="needs Debian's redis-server binary (apt-get install redis-server: TLS and Sentinel modes)",
)


@dataclass
class TlsFiles:
    """A throw-away CA (trustme), the server's certificate for 127.0.0.1, and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def tls_files(directory: Path, name: str = "ca") -> TlsFiles:
    authority = trustme.CA()
    directory.mkdir(parents=True, exist_ok=True)
    parts = ("ca", "server", "server-key", "client", "client-key")
    files = TlsFiles(*(directory / f"{name}-{part}.pem" for part in parts))
    authority.cert_pem.write_to_path(str(files.ca))
    server = authority.issue_cert("127.0.0.1", "localhost")
    server.cert_chain_pems[0].write_to_path(str(files.server_cert))
    server.private_key_pem.write_to_path(str(files.server_key))
    client = authority.issue_cert("rq-dead-letter-client@example.com")
    client.cert_chain_pems[0].write_to_path(str(files.client_cert))
    client.private_key_pem.write_to_path(str(files.client_key))
    return files


def start_tls_server(directory: Path, files: TlsFiles, client_certificates: bool = False) -> RedisProcess:
    """A TLS-only server (`--port 0 --tls-port P`); `client_certificates`: mutual TLS (`--tls-auth-clients yes`).

    Its `port` is the TLS port; its client trusts the CA (and presents the client certificate when needed).
    """
    tls_port = free_port()
    client_kwargs: dict[str, Any] = {"ssl": True, "ssl_ca_certs": str(files.ca)}
    if client_certificates:
        client_kwargs.update(ssl_certfile=str(files.client_cert), ssl_keyfile=str(files.client_key))
    args = [
        *DATA_ARGS,
        "--tls-port", str(tls_port),
        "--tls-cert-file", str(files.server_cert),
        "--tls-key-file", str(files.server_key),
        "--tls-ca-cert-file", str(files.ca),
        "--tls-auth-clients", "yes" if client_certificates else "no",
    ]  # fmt: skip
    return start_server(directory, args, port=0, client_port=tls_port, **client_kwargs)


def run_burst_worker(url: str, log_path: Path, env: dict[str, str] | None = None) -> str:
    """The Procfile's worker line (`-c failure_handlers.rq_settings`) with `--burst` on `url`, until it
    exits 0 (else the test fails with its log); returns the log."""
    from failure_handlers.dev.worker_process import start_worker, stop_worker
    from tests.conftest import TEST_ENV

    with open(log_path, "wb") as log:
        worker = start_worker(
            url, env={**TEST_ENV, **(env or {})}, extra_args=["--burst"], output=log, through_settings=True
        )
    try:
        assert worker.wait(timeout=60) == 0, log_path.read_text()
    finally:
        stop_worker(worker)
    return log_path.read_text()
