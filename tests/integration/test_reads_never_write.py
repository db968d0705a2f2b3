"""Reads never write: every read verb of `rq-dlq`, the exporter's scrape and every dashboard GET run
as a read-only ACL user, and send no write command at all.

The scenario is the one that broke reads before: a failed job that has no DLQ entry yet (the
reconciler has not seen it) and an index member whose entry hash is gone. Both tests run on a
private embedded server (never TEST_REDIS_URL: they create ACL users and reset the server's
command statistics).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from redis import Redis
from rq import Queue

from benchmarks.synthetic import make_entries, make_failed_jobs
from failure_handlers.archive import database
from failure_handlers.audit import os_actor
from failure_handlers.config import parse_settings
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.dlq.text import text
from failure_handlers.operations.bulk_runs import BulkRuns
from failure_handlers.operations.report import BulkReport
from failure_handlers.runtime import connect
from failure_handlers.web import create_app
from tests.acl_users import create_users, delete_users, user_url
from tests.conftest import TEST_ENV
from tests.integration.conftest import assert_one_line_error, run_script

pytestmark = pytest.mark.integration

PREFIX = TEST_ENV["DLQ_PREFIX"]
VIEWER = "viewer"  # the viewer of docs/production-redis.md ("Least privilege"): `ROLES["viewer"]`
NOTE = "1 failed job is not in the DLQ yet and 1 entry gone from Redis but still indexed: run rq-dlq reconcile"
PENDING = {"failed_jobs_without_entry": 1, "entries_of_live_jobs": 0, "indexed_entries_gone": 1}
# GET routes that exist only after a write (a confirmation prepared by POST /actions/prepare).
AFTER_A_WRITE = {"/confirm/<token>"}


@dataclass(frozen=True)
class Scenario:
    dead: list[str]  # failed jobs with their DLQ entries
    unreconciled: str  # a failed job without a DLQ entry
    dangling: str  # an index member whose entry hash is gone
    bulk_run: str  # a finished background bulk run (its page and its JSON are reads)


@pytest.fixture
def admin(private_url: str) -> Iterator[Redis]:
    connection = connect(private_url)
    connection.flushall()
    create_users(connection, PREFIX, [VIEWER])
    yield connection
    delete_users(connection, [VIEWER])
    connection.close()


@pytest.fixture
def archive_url(tmp_path: Path) -> str:
    """An initialised SQLite archive: `rq-dlq history` and the History pages read it (never Redis)."""
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    settings = parse_settings({**TEST_ENV, "ARCHIVE_URL": url})
    engine = database.make_engine(settings.archive)
    database.upgrade(engine, settings.archive)
    engine.dispose()
    return url


@pytest.fixture
def scenario(admin: Redis) -> Scenario:
    dlq = DeadLetterQueue(admin, PREFIX, int(TEST_ENV["DLQ_TTL_SECONDS"]))
    dead = make_failed_jobs(admin, "billing", 3, dlq=dlq)
    (unreconciled,) = make_failed_jobs(admin, "billing", 1)  # RQ failed it; no handler wrote its entry
    admin.sadd(Queue.redis_queues_keys, Queue("billing", connection=admin).key)  # as an enqueue registers it
    dangling = next(make_entries(1))
    dlq.add(dangling)
    admin.delete(dlq.keys.entry(dangling.job_id))  # evicted, or deleted by hand: its index members stay
    dlq.search_index.refresh()  # as the reconciler's passes do: `list --search` reads the index
    runs = BulkRuns(admin, dlq.keys)
    bulk_run = runs.create("requeue", "queue=billing", os_actor("dashboard"), 3)
    runs.finish(bulk_run, BulkReport("requeue", False, 3))
    return Scenario(dead, unreconciled, dangling.job_id, bulk_run)


def viewer_url(url: str) -> str:
    return user_url(url, VIEWER)


def run_read_verbs(url: str, archive_url: str, scenario: Scenario) -> None:
    """Every read verb of `rq-dlq` against `url`: each exits 0 with the right output and the note."""
    env = {"REDIS_URL": url, "ARCHIVE_URL": archive_url}

    def verb(*args: str) -> str:
        result = run_script("scripts/dlq.py", *args, env=env)
        assert result.returncode == 0, (args, result.returncode, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout + result.stderr

    listing = verb("list")
    assert "Dead-letter queue: 3 shown" in listing and NOTE in listing
    listed = json.loads(run_script("scripts/dlq.py", "list", "--json", env=env).stdout)
    assert sorted(entry["job_id"] for entry in listed) == sorted(scenario.dead)
    searched = verb("list", "--search", "INV-1")  # the arguments of the second dead job
    assert "Dead-letter queue: 1 shown" in searched and "note: searched by the search index (3 entries)" in searched
    shown = verb("show", scenario.dead[0])
    assert scenario.dead[0] in shown and "Traceback (most recent call last)" in shown and NOTE in shown
    assert NOTE in verb("stats")
    figures = json.loads(run_script("scripts/dlq.py", "stats", "--json", env=env).stdout)
    assert figures["total"] == 4  # index counts: the dangling member counts until a writer prunes it (the note)
    assert figures["reconcile_pending"] == PENDING
    checked = verb("check")
    assert checked.startswith("DLQ OK: 4 dead jobs") and NOTE in checked
    scrape = verb("metrics", "--once")
    assert "rq_dlq_up 1.0" in scrape and 'rq_jobs{queue="billing",status="failed"} 4.0' in scrape
    assert "Circuits: 0" in verb("circuits")
    assert f"would delete {scenario.dead[0]}" in verb("delete", "--dry-run", scenario.dead[0])
    assert "would delete 3 entries" in verb("purge", "--dry-run")
    assert "0 dead-letterings" in verb("history", "stats")
    assert "Failure archive: 0 shown" in verb("history")
    assert "Audit log: 0 shown" in verb("audit")


def get_routes(client: FlaskClient, scenario: Scenario) -> list[str]:
    """Every GET route of the dashboard and its API, with a real job id where one is needed."""
    paths = []
    for rule in client.application.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.rule in AFTER_A_WRITE:
            continue
        path = rule.rule.replace("<job_id>", scenario.dead[0]).replace("<path:filename>", "dashboard.js")
        path = path.replace("<run_id>", scenario.bulk_run)
        assert "<" not in path, f"a GET route this test does not know how to fill: {rule.rule}"
        paths.append(path)
    return paths


def check_dashboard(connection: Redis, url: str, archive_url: str, scenario: Scenario) -> list[str]:
    """The read-only dashboard on `connection`: every GET page and API route answers 200."""
    settings = parse_settings({**TEST_ENV, "REDIS_URL": url, "ARCHIVE_URL": archive_url, "DASHBOARD_READ_ONLY": "true"})
    app = create_app(settings, connection)
    app.config["TESTING"] = True
    client = app.test_client()
    paths = get_routes(client, scenario)
    for path in paths:
        response = client.get(path)
        body = response.get_data(as_text=True)  # the exports stream: read them to the end
        response.close()
        assert response.status_code == 200, (path, response.status_code, body[:500])
    failed = client.get("/api/failed-jobs").get_json()
    assert sorted(entry["job_id"] for entry in failed["entries"]) == sorted(scenario.dead)
    stats = client.get("/api/stats").get_json()
    assert stats["reconcile_pending"] == PENDING
    assert NOTE in client.get("/").text
    return paths


def test_every_read_works_as_a_read_only_acl_user(admin, private_url, archive_url, scenario):
    url = viewer_url(private_url)
    run_read_verbs(url, archive_url, scenario)
    viewer = connect(url)
    try:
        paths = check_dashboard(viewer, url, archive_url, scenario)
    finally:
        viewer.close()
    assert {"/", "/failed", "/api/failed-jobs", "/metrics", "/history", "/activity", "/api/audit"} <= set(paths)


def test_reads_send_no_write_command(admin, private_url, archive_url, scenario):
    """Without ACLs (the default user may write): the server's own command statistics show no write."""
    forbidden = {text(name) for category in ("write", "scripting") for name in admin.acl_cat(category)}
    admin.config_resetstat()
    run_read_verbs(private_url, archive_url, scenario)
    check_dashboard(admin, private_url, archive_url, scenario)
    sent = {name.removeprefix("cmdstat_").split("|")[0] for name in admin.info("commandstats")}
    assert {"hgetall", "zrevrangebyscore", "zcard"} <= sent  # the statistics did see the reads
    assert sent & forbidden == set()
    assert admin.exists(f"{PREFIX}entry:{scenario.unreconciled}") == 0  # nobody reconciled behind our back
    assert admin.zscore(f"{PREFIX}index", scenario.dangling) is not None  # nor pruned the dangling member


WRITES = [("requeue",), ("delete",), ("purge", "--yes"), ("reconcile",), ("reconcile", "--watch", "--interval", "1s")]


@pytest.mark.parametrize("verb", WRITES)
def test_a_write_by_the_viewer_is_one_line_naming_the_missing_permission(admin, private_url, scenario, verb):
    args = [*verb, scenario.dead[0]] if verb[0] in ("requeue", "delete") else list(verb)
    result = run_script("scripts/dlq.py", *args, env={"REDIS_URL": viewer_url(private_url)})
    assert_one_line_error(result, "no permissions to run the", f"ACL user of REDIS_URL ({VIEWER})")
