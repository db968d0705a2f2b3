"""Secrets stay secret, tools never run code from Redis, and RQ's JSON serializer works end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry

from failure_handlers import runtime
from failure_handlers.dev.embedded_redis import embedded_server
from failure_handlers.dev.worker_process import PROJECT_ROOT, start_worker, stop_worker
from tests.conftest import TEST_ENV
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job

PASSWORD = "0ps-s3cret"


@pytest.fixture
def acl_url(monkeypatch) -> Iterator[str]:
    """A server with an ACL user `ops` and a password on the default user too."""
    with embedded_server() as url:
        admin = runtime.connect(url)
        admin.execute_command("ACL", "SETUSER", "ops", "on", f">{PASSWORD}", "~*", "&*", "+@all")
        admin.config_set("requirepass", "d3fault-pw")
        ops_url = url.replace("redis://", f"redis://ops:{PASSWORD}@")
        monkeypatch.setenv("REDIS_URL", ops_url)
        yield ops_url


def test_acl_user_works_and_its_password_is_never_printed(acl_url, tmp_path):
    connection = runtime.connect(acl_url)
    log_path = tmp_path / "worker.log"
    with open(log_path, "wb") as log:
        worker = start_worker(acl_url, ["default"], env={**TEST_ENV, "LOG_LEVEL": "DEBUG"}, output=log)
    try:
        job = enqueue(chaos_job, "permanent", connection=connection, password="hunter2")
        wait_for(lambda: job.get_status(refresh=True) == "failed", 30, "the job to fail")
        outputs = [
            run_script("scripts/dlq.py", *args)
            for args in (["list"], ["show", job.id], ["stats"], ["check"], ["reconcile"])
        ]
        outputs.append(run_script("scripts/requeue.py", "--dry-run", job.id))
    finally:
        stop_worker(worker)
    assert all(result.returncode in (0, 1) for result in outputs), [result.stderr for result in outputs]
    printed = "".join(result.stdout + result.stderr for result in outputs) + log_path.read_text()
    assert (
        job.id in printed
        and "redis://ops:***@"
        in run_script("scripts/dlq.py", "list", env={"REDIS_URL": acl_url.replace("127.0.0.1", "127.0.0.9")}).stderr
    )
    assert PASSWORD not in printed and "hunter2" not in printed  # neither the URL's nor the task's secret
    assert json.loads(run_script("scripts/dlq.py", "show", "--json", job.id).stdout)["kwargs"] == {"password": "***"}


def test_scripts_and_reconciler_survive_an_outage_and_redact_the_url(tmp_path):
    log_path = tmp_path / "reconciler.log"
    watcher = None
    try:
        with embedded_server() as url:
            runtime.connect(url).config_set("requirepass", PASSWORD)
            secret_url = url.replace("redis://", f"redis://:{PASSWORD}@")
            with open(log_path, "w") as log_file:
                watcher = subprocess.Popen(
                    [sys.executable, "scripts/dlq.py", "reconcile", "--watch", "--interval", "0.2"],
                    cwd=PROJECT_ROOT,
                    env={**os.environ, "REDIS_URL": secret_url},
                    stderr=log_file,
                )
            wait_for(lambda: "Reconciler started" in log_path.read_text(), 10, "the reconciler to start")
        # Redis has gone away
        down = run_script("scripts/dlq.py", "list", env={"REDIS_URL": secret_url})
        assert_one_line_error(down, "cannot reach Redis at redis://:***@127.0.0.1:")
        assert PASSWORD not in down.stderr
        wait_for(lambda: "unavailable" in log_path.read_text(), 10, "the reconciler to report the outage")
        assert watcher.poll() is None, "the reconciler must keep running through an outage"
    finally:
        if watcher is not None:
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(timeout=15)
    log = log_path.read_text()
    assert watcher.returncode == 0, log
    assert "unavailable" in log and ":***@" in log and PASSWORD not in log


def test_read_only_tools_never_run_code_stored_in_redis(redis, dlq, tmp_path):
    marker = tmp_path / "pwned"
    job = Queue(connection=redis).enqueue(chaos_job, "ok", meta={"payload": _Evil(marker)})
    job.set_status("failed")
    FailedJobRegistry(queue=Queue(connection=redis)).add(job)  # failed, with no DLQ entry: the reads count it

    for args in (["list", "--json"], ["show", job.id], ["stats"], ["check"]):
        result = run_script("scripts/dlq.py", *args)
        assert result.returncode in (0, 1, 2), result.stderr  # show: no entry yet (exit 2)
    assert not marker.exists() and dlq.get(job.id) is None  # reads never write
    assert run_script("scripts/dlq.py", "reconcile", "--incremental").returncode == 0
    assert not marker.exists()
    entry = dlq.get(job.id)
    assert entry is not None and entry.func_name == "worker_tasks.chaos_tasks.chaos_job"


def test_json_serializer_end_to_end(redis, dlq, worker, monkeypatch):
    monkeypatch.setenv("RQ_SERIALIZER", "json")
    runtime.serializer.cache_clear()
    runtime.settings.cache_clear()
    process = worker(extra_args=("-S", "json"), RQ_SERIALIZER="json")
    dead = enqueue(chaos_job, "permanent", connection=redis, retry=None)
    killed = enqueue(chaos_job, "sigkill", connection=redis, retry=None)
    assert json.loads(zlib.decompress(redis.hget(Job.key_for(dead.id), "data")))[0].endswith("chaos_job")
    wait_for(lambda: dlq.get(dead.id) and killed.get_status(refresh=True) == "failed", 30, "both jobs to fail")

    assert run_script("scripts/dlq.py", "reconcile", "--incremental").returncode == 0  # the killed one's entry
    listed = {entry["job_id"]: entry for entry in json.loads(run_script("scripts/dlq.py", "list", "--json").stdout)}
    assert listed[dead.id]["args"] == ["permanent"]
    assert listed[killed.id]["args"] == ["sigkill"] and listed[killed.id]["exc_type"] == "WorkHorseKilled"

    requeued = run_script("scripts/requeue.py", dead.id)
    assert requeued.returncode == 0 and requeued.stdout.startswith(f"requeued {dead.id}"), requeued.stderr
    wait_for(lambda: dlq.get(dead.id), 30, "the requeued job to fail again under the JSON serializer")
    assert process.poll() is None


class _Evil:
    """Unpickling this runs `touch <marker>`: proof if any tool ever unpickles job meta."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))
