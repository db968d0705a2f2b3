"""The JSON API: list, one entry, stats, groups, export, and bulk requeue / delete on real RQ jobs."""

from __future__ import annotations

import csv
import io
import json

from rq import Queue
from rq.registry import FailedJobRegistry

from failure_handlers.metrics.counters import read_counters
from tests.factories import dead_entry
from tests.web.conftest import TOKEN, failed_jobs

BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_list_has_the_filters_and_paging_of_the_page(client, dlq):
    for n in range(5):
        dlq.add(dead_entry(f"b-{n}", queue="billing", minutes_ago=n))
    dlq.add(dead_entry("d-0", queue="default"))
    body = client.get("/api/failed-jobs?queue=billing&limit=2&offset=1").get_json()
    assert body["total"] == 5 and body["offset"] == 1 and body["limit"] == 2 and body["next_offset"] == 3
    assert [entry["job_id"] for entry in body["entries"]] == ["b-1", "b-2"]
    assert body["filter"] == {"queue": "billing"}
    first = body["entries"][0]
    assert first["args"] == ["INV-1"] and first["job_status"] is None and "job_snapshot" not in first
    last = client.get("/api/failed-jobs?queue=billing&limit=2&offset=4").get_json()
    assert last["next_offset"] is None and [entry["job_id"] for entry in last["entries"]] == ["b-4"]
    assert client.get("/api/failed-jobs?search=INV").get_json()["total"] is None  # a search is not counted


def test_bad_filters_are_400_json_listing_the_known_values(client, dlq):
    dlq.add(dead_entry("a", exc_type="KeyError"))
    response = client.get("/api/failed-jobs?exc_type=KeyErorr")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "no dead job has exc_type 'KeyErorr' (known: KeyError)"
    assert body["known"] == ["KeyError"] and body["parameter"] == "exc_type" and body["status"] == 400
    for query in ("since=yesterday", "until=2026-13-45", "limit=100000", "offset=x"):
        bad = client.get(f"/api/failed-jobs?{query}")
        assert bad.status_code == 400 and bad.is_json and bad.get_json()["error"], query


def test_one_entry_and_404(client, dlq, redis):
    (job_id,) = failed_jobs(redis, dlq, 1)
    body = client.get(f"/api/failed-jobs/{job_id}").get_json()
    assert body["job_id"] == job_id and body["job_status"] == "failed" and body["self_sufficient"] is True
    missing = client.get("/api/failed-jobs/nope")
    assert missing.status_code == 404 and missing.get_json()["error"] == "no DLQ entry for job 'nope'"
    assert client.get("/api/no-such-endpoint").status_code == 404


def test_stats_and_groups(client, dlq):
    dlq.add(dead_entry("a", fingerprint="aaaaaaaaaaaa", queue="billing"))
    dlq.add(dead_entry("b", fingerprint="bbbbbbbbbbbb", exc_type="KeyError"))
    stats = client.get("/api/stats").get_json()
    assert stats["total"] == 2 and stats["by_queue"] == {"billing": 1, "default": 1}
    assert stats["health"]["status"] == "OK" and stats["reconciler"]["late"] is True
    groups = client.get("/api/groups").get_json()
    assert groups["total"] == 2 and {group["fingerprint"] for group in groups["groups"]} == {
        "aaaaaaaaaaaa",
        "bbbbbbbbbbbb",
    }
    assert {"count", "first_seen", "last_seen", "exc_type", "origin", "sample_message"} <= set(groups["groups"][0])


def test_export_csv_and_json_of_a_filter(client, dlq):
    dlq.add(dead_entry("a", queue="billing", exc_message='=HYPERLINK("http://evil")'))
    dlq.add(dead_entry("b", queue="billing", minutes_ago=1))
    dlq.add(dead_entry("c", queue="default"))
    response = client.get("/api/failed-jobs.csv?queue=billing")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="dlq-export-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["job_id"] for row in rows] == ["a", "b"]
    assert rows[0]["exc_message"] == '\'=HYPERLINK("http://evil")'  # no formula runs in a spreadsheet
    exported = json.loads(client.get("/api/failed-jobs.json?queue=billing").text)
    assert exported["filter"] == {"queue": "billing"} and [e["job_id"] for e in exported["entries"]] == ["a", "b"]
    assert client.get("/api/failed-jobs.csv?queue=nope").status_code == 400


def test_requeue_by_ids_and_by_filter_with_dry_run(dashboard, dlq, redis):
    client = dashboard(DASHBOARD_API_TOKEN=TOKEN)
    ids = failed_jobs(redis, dlq, 4)
    dry = client.post("/api/failed-jobs/requeue", json={"ids": ids[:2], "dry_run": True}, headers=BEARER).get_json()
    assert dry["would_requeue"] == 2 and dry["dry_run"] is True and dlq.count() == 4
    done = client.post("/api/failed-jobs/requeue", json={"ids": [ids[0], "no-such-job"]}, headers=BEARER).get_json()
    assert (done["requeued"], done["skipped"], done["errors"]) == (1, 0, 1)
    assert done["problems"] == [
        {
            "job_id": "no-such-job",
            "result": "error",
            "detail": "no such job (not in the DLQ, and RQ has no job with this id)",
        }
    ]
    again = client.post("/api/failed-jobs/requeue", json={"ids": [ids[0]]}, headers=BEARER).get_json()
    assert again["requeued"] == 0 and again["skipped"] == 1  # exactly once
    by_filter = client.post("/api/failed-jobs/requeue", json={"filter": {"queue": "billing"}}, headers=BEARER)
    assert by_filter.get_json()["requeued"] == 3 and dlq.count() == 0
    assert Queue("billing", connection=redis).count == 4 and not FailedJobRegistry("billing", connection=redis).count


def test_requeue_counts_queues_within_metrics_max_label_values(dashboard, dlq, redis):
    client = dashboard(DASHBOARD_API_TOKEN=TOKEN, METRICS_MAX_LABEL_VALUES="1")
    ids = failed_jobs(redis, dlq, 2, queue="billing") + failed_jobs(redis, dlq, 1, queue="mail")
    done = client.post("/api/failed-jobs/requeue", json={"ids": ids}, headers=BEARER).get_json()
    assert done["requeued"] == 3
    assert sorted(read_counters(redis, dlq.keys)["requeued"]) == [(("billing",), 2), (("other",), 1)]


def test_delete_by_ids_and_filter_keep_job(dashboard, dlq, redis):
    client = dashboard(DASHBOARD_API_TOKEN=TOKEN)
    ids = failed_jobs(redis, dlq, 3)
    kept = client.post("/api/failed-jobs/delete", json={"ids": ids[:1], "keep_job": True}, headers=BEARER).get_json()
    assert kept["deleted"] == 1 and ids[0] in FailedJobRegistry("billing", connection=redis)
    body = {"filter": {"queue": "billing"}, "dry_run": True}
    assert client.post("/api/failed-jobs/delete", json=body, headers=BEARER).get_json()["would_delete"] == 2
    gone = client.post("/api/failed-jobs/delete", json={"ids": ids}, headers=BEARER).get_json()
    assert (gone["deleted"], gone["skipped"]) == (2, 1) and dlq.count() == 0
    assert ids[1] not in FailedJobRegistry("billing", connection=redis) and not redis.exists(f"rq:job:{ids[1]}")


def test_action_bodies_are_validated(dashboard, dlq):
    client = dashboard(DASHBOARD_API_TOKEN=TOKEN)
    dlq.add(dead_entry("a"))
    cases = [
        ("not json", "expected a JSON object"),
        ([1, 2], "expected a JSON object"),
        ({"ids": ["a"], "filter": {}}, "exactly one of ids"),
        ({}, "exactly one of ids"),
        ({"ids": "a"}, "ids: expected a list"),
        ({"ids": []}, "ids: expected 1 to"),
        ({"ids": ["a"], "dry_run": "yes"}, "dry_run: expected true or false"),
        ({"ids": ["a"], "force": True}, "unknown field(s): force"),
        ({"filter": {}}, "an empty filter selects every dead job"),
        ({"filter": {"queue": "nope"}}, "no dead job has queue 'nope'"),
        ({"filter": {"colour": "red"}}, "unknown filter field(s): colour"),
        ({"filter": "billing"}, "filter: expected an object"),
    ]
    for body, message in cases:
        kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) else {"json": body}
        response = client.post("/api/failed-jobs/requeue", headers=BEARER, **kwargs)
        assert response.status_code == 400 and message in response.get_json()["error"], (body, response.get_json())
    assert dlq.count() == 1
    everything = client.post("/api/failed-jobs/delete", json={"filter": {}, "all": True}, headers=BEARER)
    assert everything.get_json()["deleted"] == 1
