"""A real server (embedded valkey, or TEST_REDIS_URL) and real `rq worker` processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from redis import Redis
from rq import Worker

from failure_handlers import DeadLetterQueue
from failure_handlers.dev.embedded_redis import embedded_server
from failure_handlers.dev.worker_process import PROJECT_ROOT, start_worker, stop_worker
from failure_handlers.runtime import connect
from tests.conftest import TEST_ENV
from tests.polling import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """TEST_REDIS_URL (a database the suite may flush) or a private embedded server."""
    url = os.environ.get("TEST_REDIS_URL")
    if url:
        yield database_of_this_process(url, os.environ.get("PYTEST_XDIST_WORKER", ""))
        return
    with embedded_server() as embedded_url:
        yield embedded_url


def database_of_this_process(url: str, xdist_worker: str) -> str:
    """`url` itself, or under pytest-xdist, database N after it for worker `gwN`: each process flushes its own."""
    if not xdist_worker:
        return url
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    database = base + int(xdist_worker.removeprefix("gw"))
    if database > 15:
        pytest.exit(f"TEST_REDIS_URL: database {base} + {xdist_worker} is past 15; use a lower database", returncode=2)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def redis(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Redis]:
    """An empty database for each test; `REDIS_URL` points the scripts at it."""
    connection = connect(redis_url)
    connection.flushdb()
    monkeypatch.setenv("REDIS_URL", redis_url)
    yield connection
    connection.close()


@pytest.fixture
def dlq(redis: Redis) -> DeadLetterQueue:
    return DeadLetterQueue(redis, TEST_ENV["DLQ_PREFIX"], int(TEST_ENV["DLQ_TTL_SECONDS"]))


@pytest.fixture
def worker(redis: Redis, redis_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `rq worker QUEUE --with-scheduler` processes as the Procfile does; all are stopped after the test."""
    started: list[tuple[subprocess.Popen, Path]] = []

    def start(
        queue: str = "default", extra_args: tuple[str, ...] = (), record_every_job: bool = True, **env: str
    ) -> subprocess.Popen:
        """`record_every_job=False`: a plain RQ worker, without the Procfile's exception handler."""
        log_path = tmp_path / f"worker-{len(started)}.log"
        with open(log_path, "wb") as log:
            process = start_worker(
                redis_url,
                [queue],
                env={**TEST_ENV, **env},
                extra_args=extra_args,
                output=log,
                record_every_job=record_every_job,
            )
        started.append((process, log_path))
        # THIS worker registered, not any worker: a test that started two and enqueued at once had its
        # jobs taken by the first alone, the second not registered yet (seen under load)
        wait_for(lambda: process.poll() is not None or registered(redis, process.pid), 60, "the worker to register")
        assert process.poll() is None, log_path.read_text()
        return process

    yield start
    for process, log_path in started:
        stop_worker(process)
        sys.stderr.write(
            f"--- {log_path.name} (last lines) ---\n" + "".join(log_path.read_text().splitlines(True)[-15:])
        )


def registered(redis: Redis, pid: int) -> bool:
    """The worker process `pid` has registered with RQ."""
    return any(worker.pid == pid for worker in Worker.all(connection=redis))


def run_script(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python scripts/<args>` from the project root, like an operator would."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2, no traceback, and exactly one `error: ...` line containing every fragment."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


@pytest.fixture(scope="module")
def private_url() -> Iterator[str]:
    """A server of the module's own, never TEST_REDIS_URL: for tests that create ACL users or reset
    the server's statistics and settings."""
    with embedded_server() as url:
        yield url
