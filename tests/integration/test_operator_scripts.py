"""`scripts/dlq.py` and `scripts/requeue.py` as an operator runs them, good input and bad."""

from __future__ import annotations

import json

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry

from failure_handlers.dev.worker_process import stop_worker
from tests.factories import dead_entry
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from worker_tasks import enqueue, import_invoice

LONG_ID = "nightly-export-2026-11-22-tenant-acme-corporation-with-a-very-long-job-identifier"


@pytest.fixture
def failed_job(redis, dlq, worker):
    """A dead job, with the worker stopped so that a requeued job stays queued for inspection."""
    process = worker()
    job = enqueue(import_invoice, "INV-7", connection=redis, job_id=LONG_ID)
    wait_for(lambda: dlq.get(job.id), 30, "the DLQ entry")
    wait_for(lambda: job.id in FailedJobRegistry("default", connection=redis), 30, "the failed registry")
    stop_worker(process)
    return job


def test_list_prints_full_ids_when_stdout_is_not_a_terminal(failed_job):
    result = run_script("scripts/dlq.py", "list")
    assert result.returncode == 0, result.stderr
    assert LONG_ID in result.stdout
    assert "InvoiceRejected" in result.stdout and "import_invoice" in result.stdout


def test_list_json_is_an_array_of_entries(failed_job):
    result = run_script("scripts/dlq.py", "list", "--json")
    entries = json.loads(result.stdout)
    assert [e["job_id"] for e in entries] == [LONG_ID]
    assert entries[0]["args"] == ["INV-7"] and entries[0]["attempts"] == 1
    assert set(entries[0]) >= {
        "job_id",
        "func_name",
        "queue",
        "args",
        "kwargs",
        "exc_type",
        "exc_message",
        "traceback",
        "attempts",
        "max_retries",
        "enqueued_at",
        "failed_at",
        "worker",
    }


def test_list_paginates_newest_first(dlq, redis):
    for n in range(5):
        dlq.add(dead_entry(f"job-{n}", minutes_ago=n))
    result = run_script("scripts/dlq.py", "list", "--json", "--limit", "2", "--offset", "1")
    assert [e["job_id"] for e in json.loads(result.stdout)] == ["job-1", "job-2"]


def test_show_prints_traceback_and_attempt_history(failed_job):
    result = run_script("scripts/dlq.py", "show", LONG_ID)
    assert result.returncode == 0, result.stderr
    assert "Traceback (most recent call last)" in result.stdout
    assert "InvoiceRejected: invoice INV-7 has no customer number" in result.stdout
    assert "Attempts (job.meta['failures'])" in result.stdout


def test_stats_counts_by_function_and_exception(dlq, redis):
    dlq.add(dead_entry("a"))
    dlq.add(dead_entry("b", func_name="tasks.mail.send", exc_type="TimeoutError"))
    result = run_script("scripts/dlq.py", "stats", "--json")
    figures = json.loads(result.stdout)
    assert figures["total"] == 2
    assert figures["by_function"] == {"worker_tasks.example_tasks.import_invoice": 1, "tasks.mail.send": 1}
    assert run_script("scripts/dlq.py", "stats").stdout.startswith("Dead jobs: 2")


def test_requeue_reports_bad_ids_and_still_processes_the_others(failed_job, redis, dlq):
    result = run_script("scripts/requeue.py", "no-such-job", LONG_ID)
    assert_one_line_error(result, "'no-such-job'")
    assert result.stdout.startswith(f"requeued {LONG_ID}")
    assert dlq.get(LONG_ID) is None
    assert Queue("default", connection=redis).get_job_ids() == [LONG_ID]


def test_requeue_of_a_job_that_is_not_failed(redis):
    job = Queue("default", connection=redis).enqueue(import_invoice, "x")  # queued, never run
    assert_one_line_error(run_script("scripts/requeue.py", job.id), job.id, "not in the failed registry")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["scripts/requeue.py"], ["give job ids, or --all and/or filters"]),
        (["scripts/requeue.py", "--all", "some-id"], ["give job ids, or --all and/or filters"]),
        (["scripts/requeue.py", "--queue", "default", "some-id"], ["give job ids, or --all and/or filters"]),
        (["scripts/requeue.py", "--retries", "-1", "x"], ["--retries"]),
        (["scripts/requeue.py", "--bogus", "x"], ["--bogus"]),
        (["scripts/requeue.py", "../etc/passwd"], ["'../etc/passwd'", "not a valid RQ job id"]),
        (["scripts/requeue.py", "id with spaces"], ["'id with spaces'"]),
        (["scripts/dlq.py", "show", "no-such-job"], ["'no-such-job'"]),
        (["scripts/dlq.py", "show", '../ünïcode "quoted"'], ["no DLQ entry"]),
        (["scripts/dlq.py", "list", "--limit", "-1"], ["--limit"]),
        (["scripts/dlq.py", "list", "--offset", "x"], ["--offset"]),
        (["scripts/dlq.py", "frobnicate"], ["frobnicate"]),
    ],
)
def test_bad_input_gets_one_line_and_exit_2(redis, args, fragments):
    assert_one_line_error(run_script(*args), *fragments)


@pytest.mark.parametrize(
    "args", [["scripts/dlq.py", "list"], ["scripts/requeue.py", "some-id"], ["scripts/dlq.py", "stats"]]
)
def test_unreachable_redis_names_the_redacted_url(args):
    result = run_script(*args, env={"REDIS_URL": "redis://ops:hunter2@127.0.0.1:1/0"})
    assert_one_line_error(result, "redis://ops:***@127.0.0.1:1/0")
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("name", "value"), [("RETRY_INTERVALS", "abc"), ("RETRY_MAX", "-1"), ("DLQ_TTL_SECONDS", "soon")]
)
def test_bad_configuration_stops_scripts_and_worker(redis, name, value):
    for args in (
        ["scripts/dlq.py", "list"],
        ["scripts/requeue.py", "x"],
        ["-m", "rq.cli", "worker", "-c", "failure_handlers.rq_settings", "--burst"],
    ):
        assert_one_line_error(run_script(*args, env={name: value}), name)


def test_wrong_key_type_under_the_prefix_is_an_error_not_a_traceback(redis):
    redis.set("test:dlq:index", "oops")
    assert_one_line_error(run_script("scripts/dlq.py", "list"), "WRONGTYPE")
