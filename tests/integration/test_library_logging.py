"""A library in someone else's process prints nothing; our own worker still logs its lines.

`failure_handlers` and `worker_tasks` disable their loguru messages when imported
(failure_handlers/logging_setup.py); the worker's `-c failure_handlers.rq_settings` turns them on with
the sink of `LOG_LEVEL`.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from failure_handlers.dev.worker_process import PROJECT_ROOT, stop_worker
from tests.conftest import TEST_ENV
from tests.polling import wait_for
from worker_tasks import build_retry, enqueue, flaky_sync

pytestmark = pytest.mark.integration

# What a web process does with the library: enqueue (a DEBUG "Retry plan" line each), enqueue twice
# with one dedup key (an INFO "deduplicated" line), read the DLQ, import the worker's handler.
APPLICATION = textwrap.dedent(
    """
    import sys
    import failure_handlers, worker_tasks
    from failure_handlers.integration import RetryingQueue, record_failure
    from failure_handlers.runtime import default_connection
    from worker_tasks import enqueue, download_content, flaky_sync
    if "--enabled" in sys.argv:  # the control: the same work, with the library's messages on
        from failure_handlers.logging_setup import enable_library_logging
        enable_library_logging()
    enqueue(download_content, "https://example.com/export.csv")
    enqueue(flaky_sync, 3, dedup_key="order:1")
    enqueue(flaky_sync, 3, dedup_key="order:1")
    RetryingQueue("billing", connection=default_connection()).enqueue(flaky_sync, 2)
    failure_handlers.DeadLetterQueue(default_connection(), "test:dlq:", 3600).list()
    """
)


def run_application(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **TEST_ENV, "REDIS_URL": redis_url, "LOG_LEVEL": "DEBUG"}
    return subprocess.run(
        [sys.executable, "-c", APPLICATION, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_library_prints_nothing_in_an_applications_process(redis, redis_url):
    quiet = run_application(redis_url)
    assert quiet.returncode == 0, quiet.stderr
    assert (quiet.stdout, quiet.stderr) == ("", "")
    assert redis.llen("rq:queue:default") == 2 and redis.llen("rq:queue:billing") == 1  # it did the work

    loud = run_application(redis_url, "--enabled")  # the control: these paths do log when enabled
    assert "Retry plan of download_content" in loud.stderr and "Enqueue deduplicated" in loud.stderr


def failing_job_log(redis, dlq, worker, tmp_path: Path, **env: str) -> str:
    """A job that fails twice (one retry) in a worker started as the Procfile does; its log."""
    process = worker(**env)
    job = enqueue(flaky_sync, 5, connection=redis, retry=build_retry(1, [0]))
    wait_for(lambda: dlq.get(job.id), 30, "the job to reach the DLQ")
    stop_worker(process)
    return (tmp_path / "worker-0.log").read_text()


def test_the_worker_started_as_documented_logs_the_retry_and_the_dead_lettering(redis, dlq, worker, tmp_path):
    log = failing_job_log(redis, dlq, worker, tmp_path, LOG_LEVEL="INFO")
    assert "WARNING" in log and "will retry in" in log
    assert "ERROR" in log and "failed after 2 attempts, moved to DLQ: ConnectionError" in log
    assert "Retry plan of" not in log  # DEBUG, below LOG_LEVEL=INFO


def test_log_level_error_hides_the_workers_retry_warning(redis, dlq, worker, tmp_path):
    log = failing_job_log(redis, dlq, worker, tmp_path, LOG_LEVEL="ERROR")
    assert "moved to DLQ" in log
    assert "will retry" not in log
