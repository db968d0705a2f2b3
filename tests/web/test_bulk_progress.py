"""Bulk actions in the background (`web/bulk.py`, `operations/bulk_runs.py`): a confirmed action on
more than one batch of jobs runs in a thread, its progress readable as JSON by any page; a cancel
stops it between batches, leaving every job either done or still in the DLQ; its result lands in the
audit log by the actor who started it; roles are checked as for the other actions."""

from __future__ import annotations

import pytest
from rq import Queue
from rq.registry import FailedJobRegistry

from failure_handlers.audit import Actor, AuditLog
from failure_handlers.operations.bulk import delete_ids
from failure_handlers.operations.bulk_runs import INTERRUPTED, RUNNING, BulkRuns
from failure_handlers.web.bulk import INLINE_MAX
from tests.conftest import TEST_ENV
from tests.polling import wait_for
from tests.web.conftest import confirm_path, failed_jobs, page_post
from tests.web.test_roles import USERS, basic, bearer

MANY = INLINE_MAX + 700  # more than one batch: runs in the background


@pytest.fixture
def app(dashboard):
    return dashboard(DASHBOARD_USERS=USERS)


@pytest.fixture
def audit(redis):
    return AuditLog(redis, TEST_ENV["DLQ_PREFIX"])


def start(app, user: str, do: str, form: dict[str, str] | None = None, **filters: str) -> str:
    """Prepare `do` by filter, confirm it as `user`; returns the bulk run's page path."""
    headers = basic(user)
    confirm = confirm_path(page_post(app, "/actions/prepare", {"do": do, **filters}, headers=headers))
    response = page_post(app, confirm, form or {}, headers=headers)
    assert response.status_code == 303, (response.status_code, response.text[:500])
    assert "/bulk/" in response.headers["Location"]
    return response.headers["Location"]


def progress(app, run_path: str, user: str = "viewer-user") -> dict:
    response = app.get("/api" + run_path, headers=basic(user))
    assert response.status_code == 200, response.text[:300]
    return response.get_json()


def finished(app, run_path: str) -> dict:
    return wait_for(lambda: (run := progress(app, run_path))["state"] != RUNNING and run, 60, "the bulk run to end")


def test_a_filter_requeue_of_many_runs_in_the_background_and_is_audited(app, dlq, redis, audit):
    ids = failed_jobs(redis, dlq, MANY)
    run_path = start(app, "operator-user", "requeue:filter", queue="billing")
    page = app.get(run_path, headers=basic("operator-user"))
    assert page.status_code == 200 and 'id="bulk-bar"' in page.text and "queue=billing" in page.text
    run = finished(app, run_path)
    assert run["state"] == "finished" and run["percent"] == 100
    assert (run["selected"], run["processed"], run["done"], run["skipped"], run["errors"]) == (MANY, MANY, MANY, 0, 0)
    assert dlq.count() == 0 and sorted(Queue("billing", connection=redis).job_ids) == sorted(ids)
    assert f"requeued {MANY}, skipped 0, errors 0" in app.get(run_path, headers=basic("viewer-user")).text
    (record,) = audit.read()
    assert (record.action, record.actor, record.role, record.via) == (
        "requeue",
        "operator-user",
        "operator",
        "dashboard",
    )
    assert (record.filter, record.count, record.outcome) == ("queue=billing", MANY, "ok")
    listed = app.get("/api/bulk", headers=basic("viewer-user")).get_json()["runs"]
    assert [entry["id"] for entry in listed] == [run["id"]]
    activity = app.get("/activity", headers=basic("viewer-user")).text  # where a closed tab's run is found again
    assert f'data-run="{run["id"]}"' in activity and f'href="{run_path}"' in activity


def test_a_cancel_stops_between_batches_and_every_job_is_requeued_or_still_dead(app, dlq, redis, audit):
    ids = failed_jobs(redis, dlq, 1_000)
    run_path = start(app, "operator-user", "requeue:filter", {"rate": "100"})  # 100 a second: ~10 s in all
    wait_for(lambda: progress(app, run_path)["processed"] >= 100, 30, "the first batch")
    cancel = page_post(app, run_path + "/cancel", {}, headers=basic("admin-user"), token_page=run_path)
    assert cancel.status_code == 303
    run = finished(app, run_path)
    assert run["state"] == "cancelled" and run["cancel_by"].startswith("admin-user (dashboard, admin")
    assert 100 <= run["processed"] < 1_000 and run["done"] == run["processed"]
    assert run["done"] + run["skipped"] + run["errors"] + run["untouched"] == 1_000
    requeued, dead = set(Queue("billing", connection=redis).job_ids), {entry.job_id for entry in dlq.list(limit=2_000)}
    assert requeued.isdisjoint(dead) and requeued | dead == set(ids)
    assert len(requeued) == run["done"] and len(dead) == run["untouched"] == dlq.count()
    assert FailedJobRegistry("billing", connection=redis).count == len(dead)
    page = app.get(run_path, headers=basic("viewer-user")).text
    assert f"cancelled: {run['untouched']} not reached" in page and "bulk-cancel" not in page
    (record,) = audit.read()
    assert (record.action, record.actor, record.outcome, record.count) == (
        "requeue",
        "operator-user",
        "cancelled",
        1_000,
    )
    assert record.detail.startswith("cancelled by admin-user") and f"requeued {run['done']}," in record.summary


def test_a_delete_in_the_background_needs_an_admin_to_start_and_to_cancel(app, dlq, redis, audit):
    failed_jobs(redis, dlq, MANY)
    forged = page_post(app, "/actions/prepare", {"do": "delete:filter"}, headers=basic("operator-user"))
    assert forged.status_code == 403
    run_path = start(app, "admin-user", "delete:filter", {"keep_job": "yes"})
    for role in ("viewer", "operator"):  # may not stop an admin's delete, whatever its state
        refused = page_post(app, run_path + "/cancel", {}, headers=basic(f"{role}-user"))
        assert refused.status_code == 403
        assert app.post("/api" + run_path + "/cancel", headers=bearer(role)).status_code == 403
    run = finished(app, run_path)
    assert (run["state"], run["done"], run["cancel_by"]) == ("finished", MANY, "")
    assert dlq.count() == 0 and FailedJobRegistry("billing", connection=redis).count == MANY  # RQ's jobs kept
    (record,) = audit.read()
    assert (record.action, record.actor, record.outcome, record.count) == ("dismiss", "admin-user", "ok", MANY)


def test_the_api_reads_and_cancels_a_run_and_unknown_runs_are_404(app, redis, audit):
    runs = BulkRuns(redis, audit.keys)
    run_id = runs.create("requeue", "queue=billing", Actor("ops", "dashboard", "operator"), 10)
    assert app.get(f"/api/bulk/{run_id}", headers=bearer("viewer")).get_json()["state"] == RUNNING
    cancelled = app.post(f"/api/bulk/{run_id}/cancel", headers=bearer("operator"))
    assert (
        cancelled.status_code == 200 and cancelled.get_json()["cancel_by"] == "operator-bot (api, operator, 127.0.0.1)"
    )
    assert runs.cancel_requested(run_id)
    missing = app.get("/api/bulk/" + "x" * 22, headers=bearer("viewer"))
    assert missing.status_code == 404 and "no bulk run" in missing.get_json()["error"]
    assert app.get("/api/bulk/..%2F", headers=bearer("viewer")).status_code == 404
    assert app.post(f"/api/bulk/{run_id}/cancel").status_code == 401


def test_a_run_whose_process_died_reads_as_interrupted_and_is_recorded_once(app, redis, audit):
    runs = BulkRuns(redis, audit.keys)
    run_id = runs.create("requeue", "queue=billing", Actor("ops", "dashboard", "operator", "10.0.0.5"), 900)
    redis.hset(audit.keys.bulk_run(run_id), mapping={"processed": 400, "done": 390, "skipped": 10})
    assert runs.get(run_id).state == RUNNING
    redis.delete(audit.keys.bulk_lease(run_id))  # the lease expired: its process is gone
    assert progress(app, f"/bulk/{run_id}")["state"] == INTERRUPTED
    assert audit.read() == []  # reads never write
    page = app.get(f"/bulk/{run_id}", headers=basic("viewer-user")).text
    assert "Interrupted" in page and "400 of 900" in page
    assert runs.settle_interrupted(audit) == [run_id]
    assert runs.settle_interrupted(audit) == []  # once
    (record,) = audit.read()
    assert (record.actor, record.address, record.outcome, record.count) == ("ops", "10.0.0.5", "interrupted", 900)
    assert record.summary.startswith("requeued 390, skipped 10, errors 0, cancelled: 500 not reached")


def test_a_small_confirmed_action_still_runs_in_the_request_and_a_bad_rate_is_400(app, dlq, redis):
    failed_jobs(redis, dlq, 3)
    headers = basic("operator-user")
    confirm = confirm_path(page_post(app, "/actions/prepare", {"do": "requeue:filter"}, headers=headers))
    assert page_post(app, confirm, {"rate": "fast"}, headers=headers).status_code == 400
    assert dlq.count() == 3  # nothing done; the confirmation is still there
    result = page_post(app, confirm, {}, headers=headers)
    assert result.status_code == 200 and "requeued 3, skipped 0, errors 0" in result.text


def test_a_delete_stopped_after_its_first_batch_leaves_every_job_deleted_or_still_dead(dlq, redis, audit):
    ids = failed_jobs(redis, dlq, 500)
    seen: list[int] = []
    report = delete_ids(
        redis, dlq, ids, batch=200, audit=audit, actor=Actor("ops", "python"),
        on_progress=lambda report: seen.append(report.processed), stop=lambda: bool(seen),
    )  # fmt: skip
    assert seen == [200] and report.cancelled and (report.done, report.processed, report.untouched) == (200, 200, 300)
    assert {entry.job_id for entry in dlq.list(limit=1_000)} == set(ids[200:])  # in order: the first 200 went
    assert FailedJobRegistry("billing", connection=redis).count == 300
    (record,) = audit.read()
    assert (record.action, record.outcome, record.count) == ("delete", "cancelled", 500)
    assert record.summary.startswith("deleted 200, skipped 0, errors 0, cancelled: 300 not reached")
