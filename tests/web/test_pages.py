"""The pages: overview, groups, the filtered list, one entry; filters in the URL; errors as pages."""

from __future__ import annotations

import json
import re
import time

from failure_handlers.operations.reconciler import ReconcileReport
from failure_handlers.operations.reconciler_health import record_pass
from tests.factories import dead_entry


def test_overview_shows_totals_groups_charts_health_and_the_reconciler(client, dlq):
    for n in range(3):
        dlq.add(dead_entry(f"inv-{n}", minutes_ago=n * 90, fingerprint="aaaaaaaaaaaa", queue="billing"))
    dlq.add(dead_entry("dl-1", exc_type="KeyError", exc_message="'sku-1'", fingerprint="bbbbbbbbbbbb"))
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert 'data-stat="total">4<' in html
    assert "dropped by DLQ_MAX_ENTRIES" in html and "health (rq-dlq check)" in html
    assert "No reconciler pass recorded" in html
    assert html.count('<svg class="chart 24h"') == 1 and html.count('<svg class="chart 7d"') == 1
    assert 'data-group-count="aaaaaaaaaaaa">3<' in html and 'href="/failed?group=bbbbbbbbbbbb"' in html
    record_pass(dlq.connection, dlq.keys, ReconcileReport(queues=2, checked=5).line(), full=True, interval=5)
    assert "Last pass 0s ago (full, every 5 s): reconciled 2 queues" in client.get("/").text


def test_failures_over_time_come_from_bucketed_index_counts(client, dlq):
    dlq.add(dead_entry("now-1"))
    dlq.add(dead_entry("now-2", minutes_ago=1))
    dlq.add(dead_entry("hours-ago", minutes_ago=5 * 60 + 30))
    stats = client.get("/api/stats").get_json()
    day = [bucket["count"] for bucket in stats["failures_over_time"]["24h"]["buckets"]]
    assert len(day) == 24 and sum(day) == 3 and day[-1] == 2 and day[-6] == 1
    week = stats["failures_over_time"]["7d"]
    assert len(week["buckets"]) == 28 and week["bucket_seconds"] == 6 * 3600 and week["total"] == 3
    assert stats["failures_over_time"]["24h"]["total"] == 3


def test_groups_page_lists_every_group_with_its_sample_and_acts_on_the_whole_group(client, dlq):
    dlq.add(dead_entry("b", fingerprint="aaaaaaaaaaaa", origin="billing.py:charge", minutes_ago=30))
    dlq.add(dead_entry("a", fingerprint="aaaaaaaaaaaa", origin="billing.py:charge", exc_message="card declined"))
    dlq.add(dead_entry("c", fingerprint="cccccccccccc", exc_type="KeyError", exc_message="'sku-1'"))
    html = client.get("/groups").text
    assert "billing.py:charge" in html and "card declined" in html and "KeyError" in html
    assert 'data-group-count="aaaaaaaaaaaa">2<' in html
    assert html.count('name="group" value="aaaaaaaaaaaa"') == 1  # the act-on-this-group form
    assert 'value="requeue:filter"' in html and 'value="delete:filter"' in html


def test_list_filters_are_in_the_url_newest_first_paginated(client, dlq):
    for n in range(7):
        dlq.add(dead_entry(f"b-{n}", queue="billing", minutes_ago=n))
    dlq.add(dead_entry("d-1", queue="default"))
    first = client.get("/failed?queue=billing&limit=3")
    assert first.status_code == 200
    html = first.text
    assert html.index("b-0") < html.index("b-1") < html.index("b-2") and "b-3" not in html and "d-1" not in html
    assert "<strong>7</strong> matching" in html
    assert 'href="/failed?offset=3&amp;limit=3&amp;queue=billing">older' in html
    assert "rq-dlq list --queue billing" in html
    assert 'href="/api/failed-jobs.csv?queue=billing"' in html
    third = client.get("/failed?queue=billing&limit=3&offset=6").text
    assert "b-6" in third and "older →" not in third and "← newer" in third


def test_list_takes_every_cli_filter(client, dlq):
    dlq.add(dead_entry("old", minutes_ago=180, exc_message="old failure"))
    dlq.add(dead_entry("new", func_name="app.tasks.ship", exc_type="KeyError", exc_message="'SKU-9'"))
    html = client.get("/failed?since=1h").text
    assert "new" in html and ">old<" not in html
    assert ">old<" in client.get("/failed?until=2h").text
    assert "/jobs/new" in client.get("/failed?func=app.tasks.ship&exc_type=KeyError").text
    searched = client.get("/failed?search=sku-9")
    assert "/jobs/new" in searched.text and "/jobs/old" not in searched.text
    assert "matches counted when you act" in searched.text  # no full scan just to count


def test_a_bad_filter_is_a_400_page_listing_the_known_values(client, dlq):
    dlq.add(dead_entry("a", queue="billing"))
    page = client.get("/failed?queue=biling")
    assert page.status_code == 400
    assert "no dead job has queue &#39;biling&#39; (known: billing)" in page.text
    assert 'href="/failed?queue=billing"' in page.text
    assert client.get("/failed?since=yesterday").status_code == 400
    assert client.get("/failed?limit=0").status_code == 400
    assert client.get("/failed?offset=-1").status_code == 400


def test_entry_page_shows_everything_an_operator_needs(client, dlq, redis):
    history = [{"attempt": n, "exc_type": "TimeoutError", "message": f"try {n}", "failed_at": "2026-11-23T00:00:0{n}Z",
                "worker": "w1"} for n in (1, 2)]  # fmt: skip
    dlq.add(dead_entry("job-7", args='["INV-7", 3]', kwargs='{"api_key": "***", "n": 1}', attempts=2,
                       failures=json.dumps(history), traceback="Traceback...\nTimeoutError: slow"))  # fmt: skip
    page = client.get("/jobs/job-7")
    assert page.status_code == 200
    html = page.text
    for text in ("invoice INV-1 has no customer number", "TimeoutError: slow", "try 1", "try 2", "&#34;INV-7&#34;",
                 "&#34;api_key&#34;: &#34;***&#34;", "rq-dlq requeue job-7", "rq-dlq show job-7",
                 "gone (RQ&#39;s job hash expired or was deleted)", 'value="requeue:ids"'):  # fmt: skip
        assert text in html, text


def test_entry_page_shows_each_runs_attempt_and_marks_a_duplicated_run(client, dlq):
    """Attempt 1 ran twice (dlq/runs.py), then a requeue gave a new budget whose attempt 1 is no repeat."""
    history = [
        {"attempt": 1, "run": 1, "exc_type": "RuntimeError", "message": "first", "failed_at": "2026-11-23T00:00:01Z"},
        {"attempt": 1, "run": 2, "exc_type": "RuntimeError", "message": "again", "failed_at": "2026-11-23T00:00:02Z",
         "duplicate": True},
        {"attempt": 1, "run": 3, "requeues": 1, "exc_type": "RuntimeError", "message": "after requeue",
         "failed_at": "2026-11-23T00:00:03Z"},
    ]  # fmt: skip
    events = [{"when": "then", "exc_type": "rq.exceptions.AbandonedJobError", "reason": "no retries configured",
               "at": "2026-11-23T00:00:04Z", "worker": "w2"}]  # fmt: skip
    dlq.add(dead_entry("twice", failures=json.dumps(history), duplicated_runs=1, events=json.dumps(events)))
    html = client.get("/jobs/twice").text
    rows = re.findall(r"<tr( class=\"duplicate\")?>\s*<td class=\"num\">(\d+)", html)
    assert rows == [("", "1"), (' class="duplicate"', "2"), ("", "3")], rows
    assert 'data-duplicated-runs="1"' in html and "after requeue 1" in html
    assert "then: rq.exceptions.AbandonedJobError (no retries configured) at 2026-11-23T00:00:04Z on w2" in html
    dlq.add(dead_entry("job-1"))
    plain = client.get("/jobs/job-1").text
    assert "duplicated runs" not in plain and 'class="duplicate"' not in plain and "Recorded again" not in plain
    data = client.get("/api/failed-jobs/twice").get_json()
    assert [(item["run"], item["attempt"], item.get("duplicate", False)) for item in data["failures"]] == [
        (1, 1, False), (2, 1, True), (3, 1, False),
    ]  # fmt: skip
    assert data["duplicated_runs"] == 1 and data["events"][0]["worker"] == "w2"


def test_unknown_entry_is_404(client):
    page = client.get("/jobs/no-such-job")
    assert page.status_code == 404 and "no DLQ entry for job &#39;no-such-job&#39;" in page.text


def test_malformed_entry_is_shown_with_a_way_out(client, redis, dlq):
    redis.hset(dlq.keys.entry("broken"), mapping={"job_id": "broken", "exc_message": "half written"})
    redis.zadd(dlq.keys.index, {"broken": time.time()})
    page = client.get("/jobs/broken")
    assert page.status_code == 200 and "malformed" in page.text and "rq-dlq delete --keep-job broken" in page.text
    assert 'value="requeue:ids"' not in page.text
    assert client.get("/failed").status_code == 200


def test_counts_refresh_by_polling_the_stats_api(client, dlq):
    html = client.get("/").text
    assert 'data-stats-url="/api/stats"' in html and 'data-refresh-seconds="10"' in html
    dlq.add(dead_entry("x"))
    display = client.get("/api/stats").get_json()["display"]
    assert display["total"] == "1" and display["oldest_age"].endswith("ago") and display["health"] == "OK"
    script = client.get("/static/dashboard.js")
    assert script.status_code == 200 and "setInterval(refresh" in script.text and "innerHTML" not in script.text
