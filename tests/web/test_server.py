"""`rq-dlq web`: the standalone server (waitress) as an operator starts it, and its refusals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from failure_handlers.dev.worker_process import PROJECT_ROOT
from tests.conftest import TEST_ENV
from tests.factories import dead_entry
from tests.integration.conftest import assert_one_line_error
from tests.polling import wait_for

RQ_DLQ = str(Path(sys.executable).parent / "rq-dlq")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rq_dlq_web(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RQ_DLQ, "web", *args], cwd=PROJECT_ROOT, env={**os.environ, **TEST_ENV, **env},
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip


@pytest.fixture
def server(redis_url: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    env = {**os.environ, **TEST_ENV, "REDIS_URL": redis_url, "DASHBOARD_PORT": str(port)}
    process = subprocess.Popen(
        [RQ_DLQ, "web"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or _answers(base), 20, "the dashboard to listen")
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield base, process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def _answers(base: str) -> bool:
    try:
        return requests.get(base + "/api/stats", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_the_server_is_waitress_with_the_dashboard(server, dlq):
    base, process = server
    dlq.add(dead_entry("served-1"))
    page = requests.get(base + "/failed", timeout=5)
    assert page.status_code == 200 and "/jobs/served-1" in page.text
    assert page.headers["Server"] == "rq-dlq" and "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert requests.get(base + "/api/failed-jobs", timeout=5).json()["total"] == 1
    assert requests.post(base + "/api/failed-jobs/requeue", json={"ids": ["x"]}, timeout=5).status_code == 403
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=10)
    assert f"rq-dlq dashboard on {base}/ (actions enabled; no authentication (loopback only)" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "dashboard.example.com"])
def test_refuses_a_non_loopback_address_without_auth(host, redis_url):
    result = rq_dlq_web("--host", host, REDIS_URL=redis_url)
    assert_one_line_error(result, "refusing to serve the dashboard on", "without DASHBOARD_AUTH")


def test_bad_input_is_one_line_exit_2(redis_url):
    assert_one_line_error(rq_dlq_web("--port", "0"), "--port")
    assert_one_line_error(rq_dlq_web("--url-prefix", "dlq/"), "--url-prefix")
    result = rq_dlq_web(DASHBOARD_AUTH="no-colon-secret")
    assert_one_line_error(result, "DASHBOARD_AUTH: expected user:password")
    assert "no-colon-secret" not in result.stderr
    short = rq_dlq_web(DASHBOARD_API_TOKEN="short-tok")
    assert_one_line_error(short, "DASHBOARD_API_TOKEN")
    assert "short-tok" not in short.stderr
    assert_one_line_error(rq_dlq_web(DASHBOARD_READ_ONLY="maybe"), "DASHBOARD_READ_ONLY='maybe'")
    assert_one_line_error(rq_dlq_web(DASHBOARD_PORT="70000"), "DASHBOARD_PORT")


def test_a_busy_port_is_one_line_exit_2(redis_url):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = rq_dlq_web("--port", str(port), REDIS_URL=redis_url)
    assert_one_line_error(result, f"cannot listen on 127.0.0.1:{port}")
