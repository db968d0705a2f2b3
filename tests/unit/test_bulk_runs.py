"""A background bulk run's bookkeeping (`operations/bulk_runs.py`) on fakeredis: progress, cancel,
the end of a run that failed half-way, and the audit record each leaves."""

from __future__ import annotations

import fakeredis
import pytest

from failure_handlers.audit import Actor, AuditLog
from failure_handlers.operations.bulk_runs import CANCELLED, FAILED, FINISHED, BulkRuns, RunSpec, start_run, track
from failure_handlers.operations.report import BulkReport
from failure_handlers.storage.keys import DlqKeys

PREFIX = "t:dlq:"
OPS = Actor("ops", "dashboard", "operator", "10.0.0.5")


@pytest.fixture
def connection() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def batches(count: int, fail_after: int | None = None):
    """A run of `count` ids in batches of 10 that calls the hooks as `requeue_jobs` does."""

    def work(on_progress, stop) -> BulkReport:
        report = BulkReport("requeue", False, count)
        for start in range(0, count, 10):
            if stop():
                report.cancelled = True
                break
            if fail_after is not None and start >= fail_after:
                raise ConnectionError("redis://:secret@db:6379/0 went away")
            report.done += 10
            report.processed = start + 10
            on_progress(report)
        return report

    return work


def test_a_finished_run_keeps_its_counts_and_is_audited_once(connection):
    runs, audit = BulkRuns(connection, DlqKeys(PREFIX)), AuditLog(connection, PREFIX)
    spec = RunSpec("requeue", OPS, "queue=billing", [f"id-{n}" for n in range(30)])
    run_id = start_run(runs, audit, spec)
    assert runs.get(run_id).running and runs.get(run_id).actor["name"] == "ops"
    assert track(runs, run_id, spec, batches(30), audit) == FINISHED
    run = runs.get(run_id)
    assert (run.state, run.processed, run.done, run.percent) == (FINISHED, 30, 30, 100)
    assert not connection.exists(DlqKeys(PREFIX).bulk_lease(run_id))  # let go
    (record,) = audit.read()
    assert (record.outcome, record.count, record.filter, record.address) == ("ok", 30, "queue=billing", "10.0.0.5")


def test_a_cancel_is_seen_before_the_next_batch(connection):
    runs, audit = BulkRuns(connection, DlqKeys(PREFIX)), AuditLog(connection, PREFIX)
    spec = RunSpec("requeue", OPS, "queue=billing", [f"id-{n}" for n in range(50)])
    run_id = start_run(runs, audit, spec)
    runs.request_cancel(run_id, "bob (dashboard, admin)")
    runs.request_cancel(run_id, "carol (api, admin)")  # the first to ask is the one named
    assert track(runs, run_id, spec, batches(50), audit) == CANCELLED
    run = runs.get(run_id)
    assert (run.processed, run.untouched, run.cancel_by) == (0, 50, "bob (dashboard, admin)")
    (record,) = audit.read()
    assert (record.outcome, record.detail) == ("cancelled", "cancelled by bob (dashboard, admin)")


def test_a_run_that_fails_half_way_says_why_and_what_it_reached(connection):
    runs, audit = BulkRuns(connection, DlqKeys(PREFIX)), AuditLog(connection, PREFIX)
    spec = RunSpec("requeue", OPS, "queue=billing", [f"id-{n}" for n in range(50)])
    run_id = start_run(runs, audit, spec)
    assert track(runs, run_id, spec, batches(50, fail_after=20), audit) == FAILED
    run = runs.get(run_id)
    assert (run.state, run.done, run.processed) == (FAILED, 20, 20)
    assert "secret" not in run.error and "went away" in run.error  # the URL's password redacted
    (record,) = audit.read()
    assert (record.outcome, record.count) == ("failed", 50) and record.summary.startswith("requeued 20,")
