"""Real Redis servers for the production-Redis tests: a primary, replicas, Sentinels, a TLS server.

Debian's `redis-server` (7.0: TLS and Sentinel modes) on free loopback ports, never 6379. Each server
runs from its own directory with persistence off; `stop()` ends it (SIGTERM, then SIGKILL). Tests that
need the binary are marked `requires_redis_server`, which skips them with the reason on a machine
without it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme
from redis import Redis
from redis.exceptions import RedisError

from tests.polling import wait_for

REDIS_SERVER = shutil.which("redis-server")
requires_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="needs Debian's redis-server binary (apt-get install redis-server: TLS and Sentinel modes)",
)
MASTER_NAME = "mymaster"
START_TIMEOUT_SECONDS = 15
STOP_TIMEOUT_SECONDS = 10


CLUSTER_BUS_OFFSET = 10_000  # a cluster node also listens on its port + 10000 (so its port must be <= 55535)
START_ATTEMPTS = 5  # another process may take a free port before the server binds it: then another port


def free_port(cluster: bool = False) -> int:
    """A loopback port free now (the kernel's pick); for a cluster node, one whose bus port is free too."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not cluster:
            return port
        if port + CLUSTER_BUS_OFFSET <= 65_535 and _bindable(port + CLUSTER_BUS_OFFSET):
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class RedisProcess:
    """One `redis-server` process; `client_kwargs` are what a client needs (password, TLS files)."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    client_kwargs: dict[str, Any] = field(default_factory=dict)

    def client(self, **kwargs: Any) -> Redis:
        return Redis(port=self.port, socket_timeout=5, **{**self.client_kwargs, **kwargs})

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    directory: Path,
    args: Sequence[str],
    port: int | None = None,
    config: str | None = None,
    client_port: int | None = None,
    **client_kwargs: Any,
) -> RedisProcess:
    """`redis-server [CONFIG] --port PORT --bind 127.0.0.1 --dir DIRECTORY ARGS`, once it answers PING.

    `config` is written to `DIRECTORY/redis.conf` first (a Sentinel rewrites its own file);
    `client_port`: where clients connect when it is not PORT (a TLS-only server's `--tls-port`).
    """
    assert REDIS_SERVER, "redis-server is missing: mark the test requires_redis_server"
    if port is not None:
        return _start(directory, args, port, config, client_port, client_kwargs)
    cluster = "--cluster-enabled" in args
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return _start(directory, args, free_port(cluster), config, client_port, client_kwargs)
        except RuntimeError as error:  # the port was taken between our probe and its bind
            if "Address already in use" not in str(error) or attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _start(
    directory: Path,
    args: Sequence[str],
    port: int,
    config: str | None,
    client_port: int | None,
    client_kwargs: dict[str, Any],
) -> RedisProcess:
    directory.mkdir(parents=True, exist_ok=True)
    command = [REDIS_SERVER]
    if config is not None:
        (directory / "redis.conf").write_text(config)
        command.append(str(directory / "redis.conf"))
    command += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), *args]
    log_path = directory / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=directory)
    server = RedisProcess(client_port or port, process, log_path, client_kwargs)
    wait_for(lambda: process.poll() is not None or _answers(server), START_TIMEOUT_SECONDS, f"redis-server on {port}")
    if process.poll() is not None:
        raise RuntimeError(f"redis-server exited with {process.returncode}:\n{server.log()}")
    return server


def _answers(server: RedisProcess) -> bool:
    try:
        with server.client(socket_connect_timeout=1) as client:
            return bool(client.ping())
    except RedisError:
        return False


DATA_ARGS = ("--save", "", "--appendonly", "no")


def password_args(password: str | None) -> list[str]:
    """A server's own password, and the one it gives its primary once it is a replica (after a failover)."""
    return ["--requirepass", password, "--masterauth", password] if password else []


@dataclass
class SentinelSetup:
    """A primary, one replica and three Sentinels monitoring them as `mymaster` (quorum 2)."""

    primary: RedisProcess
    replica: RedisProcess
    sentinels: list[RedisProcess]
    password: str | None = None
    sentinel_password: str | None = None

    def url(self, password: str | None = None, sentinel_password: str | None = None, db: int = 0) -> str:
        """`redis+sentinel://` URL of this setup; the given passwords (default: the right ones)."""
        password = password or self.password
        sentinel_password = sentinel_password or self.sentinel_password
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        user = f":{password}@" if password else ""
        query = f"?sentinel_password={sentinel_password}" if sentinel_password else ""
        return f"redis+sentinel://{user}{hosts}/{MASTER_NAME}/{db}{query}"

    def primary_port(self) -> int:
        """The primary's port as the first Sentinel names it now."""
        with self.sentinels[0].client() as sentinel:
            return int(sentinel.sentinel_get_master_addr_by_name(MASTER_NAME)[1])

    def ready(self) -> bool:
        """Every Sentinel sees the primary, its replica, and the two other Sentinels (a failover needs them)."""
        for sentinel in self.sentinels:
            with sentinel.client() as client:
                state = client.sentinel_master(MASTER_NAME)
                if state["num-slaves"] < 1 or state["num-other-sentinels"] < len(self.sentinels) - 1:
                    return False
        return True


def sentinel_config(primary_port: int, password: str | None, sentinel_password: str | None) -> str:
    lines = [
        f"sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} 2",
        f"sentinel down-after-milliseconds {MASTER_NAME} 1000",
        f"sentinel failover-timeout {MASTER_NAME} 3000",
    ]
    if password:
        lines.append(f"sentinel auth-pass {MASTER_NAME} {password}")
    if sentinel_password:  # the Sentinels' own password, which they also use with each other
        lines += [f"requirepass {sentinel_password}", f"sentinel sentinel-pass {sentinel_password}"]
    return "\n".join(lines) + "\n"


@contextmanager
def sentinel_setup(
    directory: Path, password: str | None = None, sentinel_password: str | None = None
) -> Iterator[SentinelSetup]:
    """Start a primary, a replica and three Sentinels; wait until the Sentinels know them all; stop all after."""
    auth = {"password": password} if password else {}
    with ExitStack() as stack:
        primary = start_server(directory / "primary", [*DATA_ARGS, *password_args(password)], **auth)
        stack.callback(primary.stop)
        replica = start_server(
            directory / "replica",
            [*DATA_ARGS, *password_args(password), "--replicaof", "127.0.0.1", str(primary.port)],
            **auth,
        )
        stack.callback(replica.stop)
        wait_for(
            lambda: replica.client().info("replication").get("master_link_status") == "up",
            START_TIMEOUT_SECONDS,
            "the replica to sync",
        )
        sentinels = []
        for number in range(3):
            sentinel = start_server(
                directory / f"sentinel-{number}",
                ["--sentinel"],
                config=sentinel_config(primary.port, password, sentinel_password),
                **({"password": sentinel_password} if sentinel_password else {}),
            )
            stack.callback(sentinel.stop)
            sentinels.append(sentinel)
        setup = SentinelSetup(primary, replica, sentinels, password, sentinel_password)
        wait_for(setup.ready, 30, "the Sentinels to see the replica and each other")
        yield setup


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
