"""Runs numbered across a job's life and the runs it made twice (dlq/runs.py): pure, no Redis."""

from __future__ import annotations

import json

from failure_handlers.dlq import runs
from failure_handlers.dlq.synthetic import ABANDONED, WORK_HORSE_KILLED
from failure_handlers.recording.entry_builder import build_entry
from failure_handlers.recording.recovered import HANDLER_WRITE_FAILED, recover_failure


def record(attempt, exc_type="RuntimeError", at="2026-11-29T01:00:00.000Z", **extra):
    return {"attempt": attempt, "exc_type": exc_type, "message": "m", "failed_at": at, "worker": "w", "traceback": "tb",
            **extra}  # fmt: skip


def recorded(*records, dropped=0, requeues=0):
    """job.meta's records as the handler appends them, one at a time."""
    history = []
    for item in records:
        item = dict(item)
        runs.number_record(item, history, dropped, requeues if "requeues" not in item else item.pop("requeues"))
        history.append(item)
    return history


def shape(history):
    return [(item["run"], item["attempt"], item.get("duplicate", False)) for item in history]


def test_each_record_gets_the_next_run_across_retries():
    history = recorded(record(1), record(2), record(3))
    assert [item["run"] for item in history] == [1, 2, 3] and "requeues" not in history[0]
    assert runs.duplicated_runs(history) == 0


def test_the_same_attempt_recorded_again_by_a_real_run_is_a_new_run_and_a_duplicate():
    """Re-enqueued with the same retries_left (a failover lost RQ's bookkeeping): attempt 1 ran twice."""
    history = recorded(record(1), record(1), record(2))
    assert shape(runs.marked(history)) == [(1, 1, False), (2, 1, True), (3, 2, False)]
    assert runs.duplicated_runs(history) == 1 == runs.marked_runs(runs.marked(history))
    assert all("duplicate" not in item for item in history)  # marked on copies
    twice = recorded(record(1), record(1), record(1), record(2), record(2))
    assert runs.marked_runs(runs.marked(twice)) == runs.duplicated_runs(twice) == 3


def test_a_synthetic_record_of_the_attempt_just_recorded_is_the_same_run():
    """RQ's abandoned-job cleanup after our handler's record: about that run, not a second one."""
    history = recorded(record(1), record(1, ABANDONED), record(1, WORK_HORSE_KILLED))
    assert [item["run"] for item in history] == [1, 1, 1] and runs.duplicated_runs(history) == 0


def test_a_synthetic_record_of_another_attempt_is_a_run_of_its_own():
    history = recorded(record(1, ABANDONED), record(2))
    assert [item["run"] for item in history] == [1, 2] and runs.duplicated_runs(history) == 0


def test_runs_count_the_records_dropped_from_job_meta():
    history = recorded(record(26), record(27), dropped=25)
    assert [item["run"] for item in history] == [26, 27]


def test_attempt_1_after_a_requeue_starts_a_new_budget_and_is_no_duplicate():
    history = recorded(record(1), record(2), record(1, requeues=1), record(2, requeues=1))
    assert [(item["run"], item.get("requeues", 0)) for item in history] == [(1, 0), (2, 0), (3, 1), (4, 1)]
    assert runs.duplicated_runs(history) == 0
    again = [*history, *recorded(record(2, requeues=1))]  # ...but attempt 2 of that budget twice is one
    assert runs.duplicated_runs(runs.numbered(again)) == 1


def test_records_written_before_runs_were_numbered_are_numbered_by_position():
    legacy = [record(1), record(2)]
    assert [item["run"] for item in runs.numbered(legacy, dropped=3)] == [4, 5]
    new = dict(record(3))
    runs.number_record(new, legacy, 3, 0)
    assert new["run"] == 6


def test_runs_numbered_by_two_writers_that_did_not_see_each_other_are_renumbered_in_order():
    """Split-brain: each worker numbered its own record run 1."""
    first, second = record(1, at="T1", worker="a", run=1), record(1, at="T2", worker="b", run=1)
    later = record(2, at="T3", worker="b", run=2)
    assert shape(runs.marked([first, second, later])) == [(1, 1, False), (2, 1, True), (3, 2, False)]


def test_numbers_already_given_are_kept_while_they_go_up():
    assert [item["run"] for item in runs.numbered([record(1, run=4), record(2, run=9)])] == [4, 9]


def test_garbled_records_and_budgets_are_not_errors():
    history = [record(1, requeues="x", run="y"), "not a record", record("?")]
    assert [item["run"] for item in runs.numbered(history)] == [1, 2]
    assert runs.duplicated_runs(runs.numbered(history)) == 0


def entry_of(history, dropped=0):
    return build_entry(
        record=history[-1], history=history, attempts=history[-1]["attempt"], max_retries=1, reason="retries exhausted",
        origin="", redact_keys=(), job_id="j", func_name="f", queue="q", args=[], kwargs={}, enqueued_at=None,
        snapshot="", dropped=dropped,
    )  # fmt: skip


def test_the_handlers_entry_marks_the_duplicated_run_without_a_merge():
    entry = entry_of(recorded(record(1), record(1), record(2)))
    assert entry.duplicated_runs == 1
    assert shape(entry.attempt_history()) == [(1, 1, False), (2, 1, True), (3, 2, False)]
    assert "traceback" not in json.loads(entry.failures)[0]


def test_the_entry_keeps_the_budget_only_where_there_is_one():
    entry = entry_of(recorded(record(1), record(1, requeues=2)))
    assert [item.get("requeues") for item in entry.attempt_history()] == [None, 2] and entry.duplicated_runs == 0


def test_the_reconcilers_recovered_run_follows_the_recorded_runs():
    meta = recorded(record(1), record(1))  # the job ran attempt 1 twice, then its work-horse was killed
    recovered = recover_failure(
        status="failed", meta_history=meta, meta_max_retries=1, retries_left=0, runs=[], ended_at=None,
        worker="w", meta_dropped=0,
    )  # fmt: skip
    assert (recovered.record["run"], recovered.record["attempt"]) == (3, 2)
    assert runs.duplicated_runs(recovered.history) == 1


def test_the_reconciler_finds_the_handlers_record_in_the_current_budget_only():
    """After a requeue, attempt 1 of the first budget is not the run the reconciler is recovering."""
    meta = recorded(record(1), record(2), record(1, requeues=1))
    recovered = recover_failure(
        status="failed", meta_history=meta, meta_max_retries=1, retries_left=1, runs=[], ended_at=None,
        worker="w", requeues=1,
    )  # fmt: skip
    assert recovered.reason == HANDLER_WRITE_FAILED and recovered.record is meta[-1]
    killed = recover_failure(
        status="failed", meta_history=meta, meta_max_retries=1, retries_left=0, runs=[], ended_at=None,
        worker="w", meta_dropped=5, requeues=1,
    )  # fmt: skip
    assert (killed.record["run"], killed.record["attempt"], killed.record["requeues"]) == (9, 2, 1)
    assert killed.dropped == 5


def test_the_entrys_history_is_compact_json():
    """No separator spaces: `failures` is the biggest field of an entry after retries (entry memory)."""
    entry = entry_of(recorded(record(1), record(2, message="a, b: c")))
    assert entry.failures == json.dumps(json.loads(entry.failures), ensure_ascii=False, separators=(",", ":"))
    assert entry.attempt_history()[1]["message"] == "a, b: c"
