"""The dashboard's and the API's incident controls: replay with edited arguments, pause / resume a queue."""

from __future__ import annotations

import json

import pytest
from rq import Queue
from rq.job import Job

from failure_handlers.storage.keys import META_REPLAY
from tests.conftest import TEST_ENV
from tests.web.conftest import ORIGIN, TOKEN, failed_jobs, page_post

pytestmark = pytest.mark.integration

BEARER = {"Authorization": f"Bearer {TOKEN}"}
PAUSED = TEST_ENV["DLQ_PREFIX"] + "queues:paused"


def test_api_replay_with_edited_args(redis, dlq, dashboard):
    client = dashboard(DASHBOARD_API_TOKEN=TOKEN)
    [job_id] = failed_jobs(redis, dlq, 1)
    response = client.post(f"/api/failed-jobs/{job_id}/replay", json={"args": ["INV-fixed"]}, headers=BEARER)
    assert response.status_code == 200, response.json
    assert response.json["result"] == "requeued"
    job = Job.fetch(job_id, connection=redis)
    assert job.args == ["INV-fixed"] and job.meta[META_REPLAY]["edited"] == ["args"]
    assert json.loads(job.meta[META_REPLAY]["original_args"]) == ["INV-0"]
    assert Queue("billing", connection=redis).get_job_ids() == [job_id]
    again = client.post(f"/api/failed-jobs/{job_id}/replay", json={"args": ["x"]}, headers=BEARER)
    assert again.status_code == 404 and "no DLQ entry" in again.json["error"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"args": "nope"}, 400, "args: expected a JSON array"),
        ({"kwargs": {"token": "***"}}, 400, "kwargs['token'] is ***"),
        ({}, 400, "give the new arguments"),
        ({"args": [], "extra": 1}, 400, "unknown field(s): extra"),
        ("[1]", 400, "expected a JSON object body"),
    ],
)
def test_api_replay_refusals_change_nothing(redis, dlq, dashboard, body, status, fragment):
    client = dashboard(DASHBOARD_API_TOKEN=TOKEN)
    [job_id] = failed_jobs(redis, dlq, 1)
    response = client.post(f"/api/failed-jobs/{job_id}/replay", json=body, headers=BEARER)
    assert response.status_code == status and fragment in response.json["error"], response.json
    assert dlq.get(job_id) is not None and Queue("billing", connection=redis).count == 0


def test_api_replay_needs_the_token(redis, dlq, dashboard):
    [job_id] = failed_jobs(redis, dlq, 1)
    response = dashboard(DASHBOARD_API_TOKEN=TOKEN).post(f"/api/failed-jobs/{job_id}/replay", json={"args": []})
    assert response.status_code == 401
    assert dlq.get(job_id) is not None


def test_entry_page_review_shows_a_diff_then_replays(redis, dlq, client):
    [job_id] = failed_jobs(redis, dlq, 1)
    page = client.get(f"/jobs/{job_id}")
    assert 'id="replay"' in page.text and "INV-0" in page.text
    review = page_post(client, f"/jobs/{job_id}/replay", {"args": '["INV-9"]', "kwargs": "{}", "step": "review"})
    assert review.status_code == 200, review.text[:500]
    assert 'class="diff-old">-     &#34;INV-0&#34;' in review.text and "INV-9" in review.text
    assert dlq.get(job_id) is not None  # the review changes nothing
    done = page_post(client, f"/jobs/{job_id}/replay", {"args": '["INV-9"]', "kwargs": "{}", "step": "run"})
    assert done.status_code == 200 and "requeued" in done.text
    assert Job.fetch(job_id, connection=redis).args == ["INV-9"]


def test_entry_page_bad_json_is_one_error(redis, dlq, client):
    [job_id] = failed_jobs(redis, dlq, 1)
    response = page_post(client, f"/jobs/{job_id}/replay", {"args": "[1,", "kwargs": "{}", "step": "run"})
    assert response.status_code == 400 and "args is not valid JSON" in response.text
    assert dlq.get(job_id) is not None


def test_queues_page_pause_and_resume(redis, client):
    Queue("billing", connection=redis).enqueue("tests.incident_tasks.mark", "billing", 1)
    page = client.get("/queues")
    assert 'data-queue="billing"' in page.text and "running" in page.text
    response = page_post(client, "/queues/billing/pause", {"reason": "card processor down"}, token_page="/queues")
    assert response.status_code == 303
    state = json.loads(redis.hget(PAUSED, "billing"))
    assert state["reason"] == "card processor down" and state["by"] == "anonymous (dashboard, admin, 127.0.0.1)"
    assert "card processor down" in client.get("/queues").text
    assert page_post(client, "/queues/billing/resume", {}, token_page="/queues").status_code == 303
    assert not redis.hexists(PAUSED, "billing")
    assert Queue("billing", connection=redis).count == 1


def test_api_pause_resume_and_unknown_queue(redis, dashboard):
    client = dashboard(DASHBOARD_API_TOKEN=TOKEN)
    Queue("billing", connection=redis).enqueue("tests.incident_tasks.mark", "billing", 1)
    unknown = client.post("/api/queues/nosuch/pause", json={}, headers=BEARER)
    assert unknown.status_code == 400 and "unknown queue 'nosuch'" in unknown.json["error"]
    assert not redis.exists(PAUSED)
    paused = client.post("/api/queues/billing/pause", json={"reason": "r"}, headers=BEARER)
    assert paused.json == {"queue": "billing", "action": "paused", "queued": 1}
    assert client.get("/api/queues/paused", headers=BEARER).json["paused"][0]["queue"] == "billing"
    metrics = client.get("/metrics").text
    assert 'rq_queue_paused{queue="billing"} 1.0' in metrics
    assert client.post("/api/queues/billing/resume", headers=BEARER).json["action"] == "resumed"
    assert 'rq_queue_paused{queue="billing"} 0.0' in client.get("/metrics").text


def test_read_only_dashboard_shows_no_controls_and_refuses(redis, dlq, dashboard):
    client = dashboard(DASHBOARD_READ_ONLY="true")
    [job_id] = failed_jobs(redis, dlq, 1)
    assert 'id="replay"' not in client.get(f"/jobs/{job_id}").text
    assert "<button" not in client.get("/queues").text
    response = client.post("/queues/billing/pause", data={}, headers={"Origin": ORIGIN})
    assert response.status_code == 403 and not redis.exists(PAUSED)
