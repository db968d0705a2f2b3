"""Real `redis-server` processes on loopback: a primary, replicas, Sentinels (tests and experiments).

Debian's `redis-server` (7.0: TLS and Sentinel modes) on free loopback ports, never 6379. Each server
runs from its own directory with persistence off; `stop()` ends it (SIGTERM, then SIGKILL) and
`start_again()` starts the same command on the same port (what a supervisor does). Used by the
production-Redis tests (`tests/redis_servers.py` adds their pytest marks, TLS files and burst
workers) and by the failover chaos experiment (`chaos/failover.py`).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from redis import Redis
from redis.exceptions import RedisError

from failure_handlers.dev.polling import wait_until

T = TypeVar("T")

REDIS_SERVER = shutil.which("redis-server")
MASTER_NAME = "mymaster"
START_TIMEOUT_SECONDS = 15
STOP_TIMEOUT_SECONDS = 10
SENTINEL_READY_SECONDS = 30
CLUSTER_BUS_OFFSET = 10_000  # a cluster node also listens on its port + 10000 (so its port must be <= 55535)
START_ATTEMPTS = 5  # another process may take a free port before the server binds it: then another port
DATA_ARGS = ("--save", "", "--appendonly", "no")


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
    command: list[str] = field(default_factory=list)

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

    def start_again(self, extra_args: Sequence[str] = ()) -> None:
        """The same command on the same port (its data directory kept), plus `extra_args`, once it answers PING."""
        assert self.process.poll() is not None, "the server still runs"
        self.process = _spawn([*self.command, *extra_args], self.log_path, append=True)
        _await_start(self, self.port)

    def answers(self) -> bool:
        try:
            with self.client(socket_connect_timeout=1) as client:
                return bool(client.ping())
        except RedisError:
            return False


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
    if REDIS_SERVER is None:
        raise RuntimeError("redis-server is missing (apt-get install redis-server)")
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
    assert REDIS_SERVER is not None
    directory.mkdir(parents=True, exist_ok=True)
    command = [REDIS_SERVER]
    if config is not None:
        (directory / "redis.conf").write_text(config)
        command.append(str(directory / "redis.conf"))
    command += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), *args]
    log_path = directory / "server.log"
    server = RedisProcess(client_port or port, _spawn(command, log_path), log_path, client_kwargs, command)
    _await_start(server, port)
    return server


def _spawn(command: list[str], log_path: Path, append: bool = False) -> subprocess.Popen[bytes]:
    with open(log_path, "ab" if append else "wb") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=log_path.parent)


def _await_start(server: RedisProcess, port: int) -> None:
    process = server.process
    wait_until(lambda: process.poll() is not None or server.answers(), START_TIMEOUT_SECONDS, f"redis-server on {port}")
    if process.poll() is not None:
        raise RuntimeError(f"redis-server exited with {process.returncode}:\n{server.log()}")


def password_args(password: str | None) -> list[str]:
    """A server's own password, and the one it gives its primary once it is a replica (after a failover)."""
    return ["--requirepass", password, "--masterauth", password] if password else []


@dataclass
class SentinelSetup:
    """A primary, one replica and three Sentinels monitoring them as `mymaster` (quorum 2).

    `primary` and `replica` are the servers as started; after a failover the replica is the primary
    (`current_primary()` asks the Sentinels).
    """

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

    def servers(self) -> list[RedisProcess]:
        return [self.primary, self.replica]

    def current_primary(self) -> RedisProcess:
        """The server every Sentinel names as the primary now (waits while they disagree)."""

        def agreed() -> RedisProcess | None:
            try:
                ports = set()
                for sentinel in self.sentinels:
                    with sentinel.client() as client:
                        ports.add(int(client.sentinel_get_master_addr_by_name(MASTER_NAME)[1]))
            except (RedisError, TypeError):
                return None
            named = [server for server in self.servers() if {server.port} == ports]
            return named[0] if named else None

        named = wait_until(agreed, SENTINEL_READY_SECONDS, "the Sentinels to agree on a primary")
        assert named is not None
        return named

    def settled_on(self, server: RedisProcess) -> bool:
        """Every Sentinel names `server`, none is in a failover, and `server` says it is a primary: the
        failover is over everywhere, not only in the Sentinel that led it."""
        try:
            for sentinel in self.sentinels:
                with sentinel.client() as client:
                    if int(client.sentinel_get_master_addr_by_name(MASTER_NAME)[1]) != server.port:
                        return False
                    if "failover_in_progress" in str(client.sentinel_master(MASTER_NAME).get("flags", "")):
                        return False
            with server.client(socket_connect_timeout=1) as client:
                return bool(client.info("replication").get("role") == "master")
        except (RedisError, TypeError):
            return False

    def describe(self) -> str:
        """What each Sentinel names and each server says it is (for a timeout's message)."""
        views = []
        for sentinel in self.sentinels:
            try:
                with sentinel.client(socket_connect_timeout=1) as client:
                    state = client.sentinel_master(MASTER_NAME)
                    views.append(f"sentinel {sentinel.port}: {state.get('port')} [{state.get('flags')}]")
            except (RedisError, TypeError) as error:
                views.append(f"sentinel {sentinel.port}: {type(error).__name__}")
        for server in self.servers():
            try:
                with server.client(socket_connect_timeout=1) as client:
                    info = client.info("replication")
                    views.append(
                        f"server {server.port}: {info.get('role')} of {info.get('master_port', '-')}"
                        f" link {info.get('master_link_status', '-')}, {client.dbsize()} keys"
                    )
            except RedisError as error:
                views.append(f"server {server.port}: {type(error).__name__}")
        return "; ".join(views)

    def other(self, server: RedisProcess) -> RedisProcess:
        return self.replica if server is self.primary else self.primary

    def is_replica_of(self, server: RedisProcess, primary: RedisProcess) -> bool:
        """`server` replicates `primary` and its link is up (its first sync done)."""
        try:
            with server.client(socket_connect_timeout=1) as client:
                info = client.info("replication")
        except RedisError:
            return False
        return (
            info.get("role") == "slave"
            and int(info.get("master_port", 0)) == primary.port
            and info.get("master_link_status") == "up"
        )

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
    directory: Path,
    password: str | None = None,
    sentinel_password: str | None = None,
    server_args: Sequence[str] = (),
) -> Iterator[SentinelSetup]:
    """Start a primary, a replica and three Sentinels; wait until the Sentinels know them all; stop all after.

    `server_args`: more settings for both servers (e.g. `--min-replicas-to-write 1`: a replica becomes
    the primary).
    """
    auth: dict[str, Any] = {"password": password} if password else {}
    args = [*DATA_ARGS, *password_args(password), *server_args]
    with ExitStack() as stack:
        primary = start_server(directory / "primary", args, **auth)
        stack.callback(primary.stop)  # `stop` ends the server's current process (after `start_again` too)
        replica = start_server(directory / "replica", [*args, "--replicaof", "127.0.0.1", str(primary.port)], **auth)
        stack.callback(replica.stop)
        wait_until(
            lambda: replica.client().info("replication").get("master_link_status") == "up",
            START_TIMEOUT_SECONDS,
            "the replica to sync",
        )
        sentinels = []
        sentinel_auth: dict[str, Any] = {"password": sentinel_password} if sentinel_password else {}
        for number in range(3):
            sentinel = start_server(
                directory / f"sentinel-{number}",
                ["--sentinel"],
                config=sentinel_config(primary.port, password, sentinel_password),
                **sentinel_auth,
            )
            stack.callback(sentinel.stop)
            sentinels.append(sentinel)
        setup = SentinelSetup(primary, replica, sentinels, password, sentinel_password)
        wait_until(setup.ready, SENTINEL_READY_SECONDS, "the Sentinels to see the replica and each other")
        yield setup
