"""A throw-away PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port in a temp
dir), with password authentication: for the tests that must stop and start the server, or see it
refuse a wrong password. The machine's shared server is never restarted.

PostgreSQL refuses to run as root: when the tests run as root the cluster runs as the `postgres`
user (runuser). Skipped, with the reason, where that is impossible.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PASSWORD = "archive-test-pw"
BIN_DIRS = [Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]


@dataclass
class PrivateCluster:
    data_dir: Path
    port: int
    prefix: list[str]  # runs a command as the cluster's owner

    @property
    def url(self) -> str:
        return f"postgresql://archive:{PASSWORD}@127.0.0.1:{self.port}/archive"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.prefix, _binary("pg_ctl"), "-D", str(self.data_dir), "-w", "-t", "30", *args],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def start(self) -> None:
        log = self.data_dir.parent / "server.log"
        self.ctl("-l", str(log), "-o", f"-p {self.port} -k {self.data_dir.parent} -h 127.0.0.1", "start")

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "stop")


def _binary(name: str) -> str:
    for directory in BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    pytest.skip(f"no PostgreSQL server binaries ({name}) under /usr/lib/postgresql: cannot start a private cluster")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    initdb = _binary("initdb")
    prefix: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: PostgreSQL refuses to run as root")
        try:
            import pwd

            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no `postgres` user to run a private cluster as")
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="archive-pg-"))
    try:
        data_dir = root / "data"
        password_file = root / "password"
        password_file.write_text(PASSWORD)
        if prefix:
            os.chown(root, owner.pw_uid, owner.pw_gid)
            os.chown(password_file, owner.pw_uid, owner.pw_gid)
        subprocess.run(
            [*prefix, initdb, "-D", str(data_dir), "-U", "archive", "--auth=scram-sha-256",
             f"--pwfile={password_file}", "--no-sync", "-E", "UTF8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        with open(data_dir / "postgresql.conf", "a") as conf:
            # fsync off: the OS survives the test, so does what reached it. synchronous_commit stays on:
            # a commit the archiver saw must survive the crash it is about to have.
            conf.write("\nfsync = off\nfull_page_writes = off\n")
        cluster = PrivateCluster(data_dir, _free_port(), prefix)
        cluster.start()
        try:
            subprocess.run(
                [*prefix, _binary("createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "archive", "archive"],
                check=True, capture_output=True, timeout=60, env={**os.environ, "PGPASSWORD": PASSWORD},
            )  # fmt: skip
            yield cluster
        finally:
            try:
                cluster.stop("immediate")
            except subprocess.CalledProcessError:
                pass
    finally:
        shutil.rmtree(root, ignore_errors=True)
