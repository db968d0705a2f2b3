"""The history of failures the handler never saw, from job.meta and RQ's results (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

from failure_handlers.jobs.safe_reader import RecordedRun
from failure_handlers.recording.recovered import HANDLER_WRITE_FAILED, recover_failure

KILLED = "Work-horse terminated unexpectedly; waitpid returned 9 (signal 9); "
RAISED = 'Traceback (most recent call last):\n  File "app.py", line 3, in charge\nConnectionError: gateway down\n'
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def run(kind: str, exc_string: str, worker: str = "w1") -> RecordedRun:
    return RecordedRun(kind=kind, exc_string=exc_string, ended_at=AT, worker=worker)


def recover(**given):
    defaults = dict(status="failed", meta_history=[], meta_max_retries=None, retries_left=None, runs=[])
    return recover_failure(**{**defaults, "ended_at": AT, "worker": "w9", **given})


def test_every_run_rq_recorded_becomes_a_history_record():
    runs = [run("FAILED", RAISED, "w1"), run("STOPPED", "Job stopped by user"), run("FAILED", KILLED)]
    recovered = recover(runs=runs, retries_left=0)
    assert recovered.attempts == 3 and recovered.max_retries == 2
    assert [item["attempt"] for item in recovered.history] == [1, 2, 3]
    assert [item["exc_type"] for item in recovered.history] == ["ConnectionError", "JobStopped", "WorkHorseKilled"]
    assert recovered.record["exc_type"] == "WorkHorseKilled" and recovered.reason == "work-horse killed"
    assert recovered.history[0]["worker"] == "w1" and recovered.history[0]["failed_at"] == "2026-11-23T12:00:00.000Z"


def test_successful_runs_are_not_failures():
    recovered = recover(runs=[run("SUCCESSFUL", ""), run("FAILED", RAISED)])
    assert recovered.attempts == 1 and recovered.max_retries == 0 and recovered.record["message"] == "gateway down"


def test_no_results_at_all_is_one_run_with_an_unknown_cause():
    recovered = recover()
    assert recovered.attempts == 1 and recovered.record["exc_type"] == "UnknownFailure"


def test_budget_from_our_meta_numbers_the_killed_last_run():
    recovered = recover(meta_max_retries=1, retries_left=0, runs=[run("FAILED", KILLED)])
    assert recovered.attempts == 2 and recovered.max_retries == 1
    assert [item["attempt"] for item in recovered.history] == [2]


def test_runs_the_handler_saw_are_kept_and_the_escaped_one_appended():
    seen = [{"attempt": 1, "exc_type": "ConnectionError", "message": "down"}]
    recovered = recover(meta_history=seen, meta_max_retries=2, retries_left=1, runs=[run("FAILED", KILLED)])
    assert recovered.attempts == 2 and [item["attempt"] for item in recovered.history] == [1, 2]
    assert recovered.reason == "work-horse killed"


def test_last_run_seen_by_the_handler_means_its_dlq_write_failed():
    seen = [{"attempt": 1, "exc_type": "KeyError", "message": "'sku'"}]
    recovered = recover(meta_history=seen, meta_max_retries=0, runs=[run("FAILED", RAISED)])
    assert recovered.record is seen[0] and recovered.reason == HANDLER_WRITE_FAILED
