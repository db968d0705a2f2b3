"""The dashboard serves the Prometheus exposition at `/metrics`, under the same read rules."""

from __future__ import annotations

from tests.factories import dead_entry

AUTH = {"DASHBOARD_AUTH": "ops:correct horse battery"}


def test_metrics_route_exposes_the_dlq(dashboard, dlq):
    dlq.add(dead_entry("job-1", queue="billing"))
    response = dashboard().get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    assert 'rq_dlq_entries{queue="billing"} 1.0' in response.text


def test_metrics_route_needs_credentials_when_auth_is_set(dashboard):
    client = dashboard(**AUTH)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", auth=("ops", "correct horse battery")).status_code == 200


def test_metrics_route_is_read_only(dashboard):
    assert dashboard().post("/metrics").status_code == 405
