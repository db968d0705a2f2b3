"""Roles on the dashboard and its API: each role sees only what it may do, and the server refuses
the rest (403) whatever the page shows; every action lands in the audit log with its actor."""

from __future__ import annotations

import base64

import pytest
from rq import Queue

from failure_handlers.audit import AuditLog
from failure_handlers.web.users import hash_password, new_token
from tests.conftest import TEST_ENV
from tests.web.conftest import ORIGIN, confirm_path, csrf_token, failed_jobs, page_post

PASSWORD = "correct horse battery"
HASH = hash_password(PASSWORD)
TOKENS = {role: new_token() for role in ("viewer", "operator", "admin")}
USERS = "; ".join(
    [f"user {role}-user {role} {HASH}" for role in TOKENS]
    + [f"token {role}-bot {role} {digest}" for role, (_, digest) in TOKENS.items()]
)


def basic(name: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{PASSWORD}".encode()).decode()}


def bearer(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role][0]}"}


@pytest.fixture
def app(dashboard):
    return dashboard(DASHBOARD_USERS=USERS)


@pytest.fixture
def audit(redis):
    return AuditLog(redis, TEST_ENV["DLQ_PREFIX"])


@pytest.mark.parametrize(
    ("role", "requeue", "delete"), [("viewer", False, False), ("operator", True, False), ("admin", True, True)]
)
def test_the_pages_show_only_what_the_role_may_do(app, dlq, redis, role, requeue, delete):
    (job_id,) = failed_jobs(redis, dlq, 1)
    for path in ("/failed", f"/jobs/{job_id}", "/groups"):
        page = app.get(path, headers=basic(f"{role}-user"))
        assert page.status_code == 200
        assert ('value="requeue:' in page.text) is requeue, path
        assert ('value="delete:' in page.text) is delete, path
        assert f"{role}-user · {role}" in page.text
    listing = app.get("/failed", headers=basic(f"{role}-user")).text
    assert ('name="ids"' in listing) is (requeue or delete)  # no checkboxes for a viewer


def test_a_viewer_reads_everything_and_the_activity_log(app, dlq, redis):
    failed_jobs(redis, dlq, 1)
    for path in ("/", "/groups", "/failed", "/activity", "/api/stats", "/api/audit", "/api/failed-jobs"):
        assert app.get(path, headers=basic("viewer-user")).status_code == 200, path
    assert app.get("/api/audit", headers=bearer("viewer")).status_code == 200


def test_a_forged_post_by_a_viewer_is_refused_and_changes_nothing(app, dlq, redis, audit):
    (job_id,) = failed_jobs(redis, dlq, 1)
    # A forged form: no CSRF token, and one with a real token taken from a page; both refused with 403.
    forged = app.post("/actions/prepare", data={"do": "delete:ids", "ids": job_id}, headers=basic("viewer-user"))
    assert forged.status_code == 403 and "your role (viewer) may only read" in forged.text
    assert forged.mimetype == "text/html"  # a 403 page for the forms
    with_token = page_post(app, "/actions/prepare", {"do": "requeue:ids", "ids": job_id}, headers=basic("viewer-user"))
    assert with_token.status_code == 403
    assert dlq.get(job_id) is not None and audit.read() == []


def test_an_operator_requeues_but_may_not_delete(app, dlq, redis, audit):
    requeued, kept = failed_jobs(redis, dlq, 2)
    headers = basic("operator-user")
    confirm = confirm_path(page_post(app, "/actions/prepare", {"do": "requeue:ids", "ids": requeued}, headers=headers))
    result = page_post(app, confirm, {}, headers=headers)
    assert result.status_code == 200 and "requeued 1, skipped 0, errors 0" in result.text
    refused = page_post(app, "/actions/prepare", {"do": "delete:ids", "ids": kept}, headers=headers)
    assert refused.status_code == 403 and "may not delete: it needs admin" in refused.text
    assert dlq.get(kept) is not None and Queue("billing", connection=redis).job_ids == [requeued]
    [record] = audit.read()
    assert (record.action, record.actor, record.via, record.role, record.ids) == (
        "requeue", "operator-user", "dashboard", "operator", [requeued],
    )  # fmt: skip


def test_an_admin_confirmation_cannot_be_run_by_an_operator(app, dlq, redis):
    """A confirmation prepared by an admin and posted by an operator (a shared link) is refused, and left."""
    (job_id,) = failed_jobs(redis, dlq, 1)
    confirm = confirm_path(
        page_post(app, "/actions/prepare", {"do": "delete:ids", "ids": job_id}, headers=basic("admin-user"))
    )
    refused = page_post(app, confirm, {}, headers=basic("operator-user"))
    assert refused.status_code == 403 and dlq.get(job_id) is not None
    assert "deleted 1" in page_post(app, confirm, {}, headers=basic("admin-user")).text


@pytest.mark.parametrize(
    ("role", "requeue_status", "delete_status"), [("viewer", 403, 403), ("operator", 200, 403), ("admin", 200, 200)]
)
def test_api_tokens_act_by_their_role(app, dlq, redis, audit, role, requeue_status, delete_status):
    first, second = failed_jobs(redis, dlq, 2)
    requeue = app.post("/api/failed-jobs/requeue", json={"ids": [first]}, headers=bearer(role))
    delete = app.post("/api/failed-jobs/delete", json={"ids": [second]}, headers=bearer(role))
    assert (requeue.status_code, delete.status_code) == (requeue_status, delete_status)
    for response in (requeue, delete):
        if response.status_code == 403:
            assert response.is_json and response.json["status"] == 403 and f"({role})" in response.json["error"]
    assert (dlq.get(second) is None) is (delete_status == 200)
    assert {(r.action, r.actor, r.via, r.role) for r in audit.read()} == {
        (action, f"{role}-bot", "api", role)
        for action, status in (("requeue", requeue_status), ("delete", delete_status))
        if status == 200
    }


def test_an_operator_token_may_not_dismiss_either(app, dlq, redis):
    (job_id,) = failed_jobs(redis, dlq, 1)
    refused = app.post("/api/failed-jobs/delete", json={"ids": [job_id], "keep_job": True}, headers=bearer("operator"))
    assert refused.status_code == 403 and "may not dismiss" in refused.json["error"]
    assert dlq.get(job_id) is not None


def test_basic_credentials_read_the_api_but_do_not_write_it(app, dlq, redis):
    (job_id,) = failed_jobs(redis, dlq, 1)
    response = app.post("/api/failed-jobs/requeue", json={"ids": [job_id]}, headers=basic("admin-user"))
    assert response.status_code == 401 and dlq.get(job_id) is not None


def test_the_legacy_single_user_and_token_stay_admins(dashboard, dlq, redis, audit):
    app = dashboard(DASHBOARD_AUTH="ops:legacy password", DASHBOARD_API_TOKEN="tok-" + "9" * 20)
    first, second = failed_jobs(redis, dlq, 2)
    legacy = {"Authorization": "Basic " + base64.b64encode(b"ops:legacy password").decode()}
    assert 'value="delete:ids"' in app.get("/failed", headers=legacy).text
    confirm = confirm_path(page_post(app, "/actions/prepare", {"do": "delete:ids", "ids": first}, headers=legacy))
    assert "deleted 1" in page_post(app, confirm, {}, headers=legacy).text
    api = app.post(
        "/api/failed-jobs/delete", json={"ids": [second]}, headers={"Authorization": "Bearer tok-" + "9" * 20}
    )
    assert api.status_code == 200
    assert {(r.actor, r.role, r.via) for r in audit.read()} == {
        ("ops", "admin", "dashboard"),
        ("DASHBOARD_API_TOKEN", "admin", "api"),
    }


def test_wrong_or_missing_credentials(app):
    assert app.get("/failed").status_code == 401
    assert (
        app.get(
            "/failed", headers={"Authorization": "Basic " + base64.b64encode(b"admin-user:nope").decode()}
        ).status_code
        == 401
    )
    assert (
        app.get("/failed", headers={"Authorization": "Basic " + base64.b64encode(b"nobody:x").decode()}).status_code
        == 401
    )
    assert app.get("/api/stats", headers={"Authorization": "Bearer wrong-token-1234567"}).status_code == 403


def test_the_activity_page_escapes_hostile_text(app, redis, audit):
    from failure_handlers.audit import Actor, Target

    hostile = '<img src=x onerror="alert(1)">'
    audit.record("requeue", Actor(hostile, "api", "operator"), Target([hostile], hostile), "ok", hostile)
    page = app.get("/activity", headers=basic("viewer-user"))
    assert page.status_code == 200 and hostile not in page.text and "&lt;img src=x" in page.text
    assert app.get("/api/audit", headers=basic("viewer-user")).json["records"][0]["actor"] == hostile


def test_the_activity_filters_and_their_errors(app, redis, audit):
    from failure_handlers.audit import Actor, Target

    audit.record("requeue", Actor("alice", "dashboard", "operator"), Target(["a"]), "ok")
    audit.record("purge", Actor("bob@ops-1", "cli"), Target([], "queue=x", 0), "nothing")
    read = lambda query: app.get(f"/api/audit?{query}", headers=basic("viewer-user"))  # noqa: E731
    assert [r["actor"] for r in read("actor=BOB").json["records"]] == ["bob@ops-1"]
    assert [r["action"] for r in read("action=requeue&since=1h").json["records"]] == ["requeue"]
    assert read("action=explode").status_code == 400 and read("since=yesterdayish").status_code == 400
    assert read("limit=0").status_code == 400
    assert "bob@ops-1" in app.get("/activity?actor=bob", headers=basic("viewer-user")).text


def test_the_unauthenticated_loopback_dashboard_records_anonymous(client, dlq, redis, audit):
    (job_id,) = failed_jobs(redis, dlq, 1)
    confirm = confirm_path(page_post(client, "/actions/prepare", {"do": "requeue:ids", "ids": job_id}))
    page_post(client, confirm, {})
    [record] = audit.read()
    assert (record.actor, record.role, record.via, record.address) == ("anonymous", "admin", "dashboard", "127.0.0.1")


def test_read_only_still_refuses_an_admin(dashboard, dlq, redis):
    app = dashboard(DASHBOARD_USERS=USERS, DASHBOARD_READ_ONLY="true")
    (job_id,) = failed_jobs(redis, dlq, 1)
    assert 'value="delete:ids"' not in app.get("/failed", headers=basic("admin-user")).text
    token = csrf_token(app, headers=basic("admin-user"))
    refused = app.post(
        "/actions/prepare", data={"csrf_token": token, "do": "delete:ids", "ids": job_id},
        headers={**basic("admin-user"), "Origin": ORIGIN},
    )  # fmt: skip
    assert refused.status_code == 403 and "read-only" in refused.text


def test_pause_resume_and_replay_are_the_operators_and_each_lands_in_the_audit_log(app, dlq, redis, audit):
    (job_id,) = failed_jobs(redis, dlq, 1)
    Queue("billing", connection=redis).enqueue(len, "x")  # a queue RQ knows
    for path in ("/api/queues/billing/pause", "/api/queues/billing/resume", f"/api/failed-jobs/{job_id}/replay"):
        refused = app.post(path, json={"kwargs": {}} if "replay" in path else {}, headers=bearer("viewer"))
        assert refused.status_code == 403 and refused.json["error"], path
    assert redis.hgetall(TEST_ENV["DLQ_PREFIX"] + "queues:paused") == {} and audit.read() == []

    paused = app.post("/api/queues/billing/pause", json={"reason": "card processor down"}, headers=bearer("operator"))
    assert paused.status_code == 200 and paused.json["action"] == "paused"
    assert app.post("/api/queues/billing/resume", headers=bearer("operator")).json["action"] == "resumed"
    records = sorted(audit.read(), key=lambda record: record.id)
    assert [(r.action, r.actor, r.via, r.role, r.queue, r.outcome) for r in records] == [
        ("pause", "operator-bot", "api", "operator", "billing", "ok"),
        ("resume", "operator-bot", "api", "operator", "billing", "ok"),
    ]
    assert records[0].detail == "card processor down"
    page = app.get("/queues", headers=basic("viewer-user")).text
    assert ">Pause</button>" not in page  # a viewer sees no pause button
    assert ">Pause</button>" in app.get("/queues", headers=basic("operator-user")).text
