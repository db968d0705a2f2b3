"""A real Prometheus server scrapes `rq-dlq metrics` after real workers failed known jobs.

Needs Debian's `prometheus` package (`.ci/run` installs it); skipped where it is absent. The test
starts its own Prometheus (own config, storage and port), never the system service.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from rq import Queue, Retry

from failure_handlers.dev.worker_process import PROJECT_ROOT
from tests import plain_rq_tasks
from tests.conftest import TEST_ENV
from tests.polling import wait_for

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None, reason="the prometheus binary is not installed (apt-get install prometheus; .ci/run does)"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@pytest.fixture
def exporter(redis, redis_url: str, tmp_path: Path) -> Iterator[str]:
    """`rq-dlq metrics` as the Procfile runs it; yields its host:port."""
    port = free_port()
    log = open(tmp_path / "exporter.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "failure_handlers.cli", "metrics", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env={**_base_env(), **TEST_ENV, "REDIS_URL": redis_url},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: process.poll() is not None or answers(f"http://127.0.0.1:{port}/metrics"), 20, "the exporter")
        assert process.poll() is None, (tmp_path / "exporter.log").read_text()
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def prometheus(exporter: str, tmp_path: Path) -> Iterator[str]:
    """A private Prometheus scraping the exporter every second; yields its base URL."""
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: rq-dlq\n    static_configs:\n      - targets: ['{exporter}']\n"
    )
    log = open(tmp_path / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or answers(f"{base}/-/ready"), 60, "prometheus to be ready")
        assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-3000:]
        wait_for(lambda: _target_up(base), 60, "the exporter target to be up")
        yield base
    finally:
        process.terminate()
        process.wait(20)
        log.close()


def _base_env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _target_up(base: str) -> bool:
    targets = requests.get(f"{base}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    return any(target["health"] == "up" for target in targets)


def query(base: str, promql: str) -> dict[tuple[tuple[str, str], ...], float]:
    """An instant query: labels (without the name and the scrape's job/instance) -> value."""
    reply = requests.get(f"{base}/api/v1/query", params={"query": promql}, timeout=5).json()
    assert reply["status"] == "success", reply
    return {
        tuple(sorted((k, v) for k, v in row["metric"].items() if k not in ("__name__", "job", "instance"))): float(
            row["value"][1]
        )
        for row in reply["data"]["result"]
    }


def test_prometheus_scrapes_the_dlq_and_failure_counters(redis, worker, prometheus):
    worker("billing")
    queue = Queue("billing", connection=redis)
    for customer in range(3):
        queue.enqueue(plain_rq_tasks.charge, customer, retry=Retry(max=1, interval=0))
    queue.enqueue(plain_rq_tasks.reject, "INV-1")

    entries = 'rq_dlq_entries{queue="billing"}'
    expected = {(("queue", "billing"),): 4.0}
    wait_for(lambda: query(prometheus, entries) == expected, 60, f"{entries} == 4 in Prometheus")
    failures = query(prometheus, "sum by (exc_type) (rq_job_failures_total)")
    assert failures == {
        (("exc_type", "ConnectionError"),): 6.0,
        (("exc_type", "failure_handlers.errors.PermanentError"),): 1.0,
    }
    reasons = query(prometheus, "sum by (reason) (rq_jobs_dead_lettered_total)")
    assert reasons == {(("reason", "retries_exhausted"),): 3.0, (("reason", "permanent"),): 1.0}
    assert query(prometheus, 'rq_jobs{queue="billing",status="failed"}') == {
        (("queue", "billing"), ("status", "failed")): 4.0
    }
    assert query(prometheus, "rq_dlq_up") == {(): 1.0}
    _every_grafana_query_runs(prometheus)


def _every_grafana_query_runs(base: str) -> None:
    """Grafana itself is not packaged here; its panels' PromQL runs in the real Prometheus instead."""
    dashboard = json.loads((PROJECT_ROOT / "deploy/grafana/rq-dead-letter.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert expressions
    answered = {expr: query(base, expr) for expr in expressions}  # query() asserts status == success
    assert answered["sum(rq_dlq_size)"] == {(): 4.0}
    assert answered["sum by (status) (rq_jobs)"][(("status", "failed"),)] == 4.0
    assert answered["min(rq_dlq_up)"] == {(): 1.0}
