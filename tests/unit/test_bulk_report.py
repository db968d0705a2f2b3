"""The report of a requeue or delete run: exact counts, the first problems, one summary line."""

from __future__ import annotations

from failure_handlers.operations import report as report_module
from failure_handlers.operations.report import BulkReport, Problem
from failure_handlers.operations.requeue import Outcome, Result


def test_outcomes_count_as_done_skipped_or_errors():
    report = BulkReport("requeue", dry_run=False, selected=4)
    for outcome in [
        Outcome("a", Result.REQUEUED, "queue 'billing'"),
        Outcome("b", Result.SKIPPED, "already claimed by another requeue"),
        Outcome("c", Result.ERROR, "no such job"),
        Outcome("d", Result.REQUEUED, "queue 'billing'"),
    ]:
        report.count(outcome)
    assert (report.done, report.skipped, report.errors) == (2, 1, 1)
    assert report.problems == [
        Problem("b", "skipped", "already claimed by another requeue"),
        Problem("c", "error", "no such job"),
    ]


def test_a_dry_run_counts_would_requeue_as_done():
    report = BulkReport("requeue", dry_run=True, selected=1)
    report.count(Outcome("a", Result.WOULD_REQUEUE, "queue 'billing'"))
    assert report.done == 1 and report.line() == "would requeue 1, skipped 0, errors 0 (0.00 s)"
    assert report.as_json()["would_requeue"] == 1 and "requeued" not in report.as_json()


def test_the_summary_line_is_the_clis():
    report = BulkReport("requeue", dry_run=False, selected=3, done=1, skipped=0, errors=2, seconds=0.014)
    assert report.line() == "requeued 1, skipped 0, errors 2 (0.01 s)"
    assert BulkReport("delete", dry_run=False, selected=2, done=2).line() == "deleted 2, skipped 0, errors 0 (0.00 s)"


def test_problems_are_kept_up_to_the_cap_and_counts_stay_exact(monkeypatch):
    monkeypatch.setattr(report_module, "MAX_PROBLEMS", 3)
    report = BulkReport("requeue", dry_run=False, selected=5)
    for n in range(5):
        report.count(Outcome(f"job-{n}", Result.SKIPPED, "gone"))
    summary = report.as_json()
    assert report.skipped == 5 and len(report.problems) == 3
    assert summary["problems_truncated"] is True and summary["skipped"] == 5


def test_json_names_the_counts_by_action():
    summary = BulkReport("delete", dry_run=False, selected=2, done=2, seconds=0.1234).as_json()
    assert summary == {
        "action": "delete",
        "dry_run": False,
        "selected": 2,
        "deleted": 2,
        "skipped": 0,
        "errors": 0,
        "problems": [],
        "problems_truncated": False,
        "seconds": 0.123,
        "summary": "deleted 2, skipped 0, errors 0 (0.12 s)",
    }
