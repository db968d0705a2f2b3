"""Least privilege: each role's commands run as that role's real ACL user (`storage/acl.py`, the lines of
`rq-dlq acl` and docs/production-redis.md) on a real server; every allowed action works, and one the
role's line forbids is one `error:` line naming the user and the missing permission, exit 2.

On the embedded valkey (Valkey 9) and on Debian's redis-server 7.0 (skipped where it is missing).
The viewer's reads are in test_reads_never_write.py. Each test starts from an empty server with
one user per role (never TEST_REDIS_URL: the tests create ACL users).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from benchmarks.synthetic import make_failed_jobs
from failure_handlers.config import parse_settings
from failure_handlers.dev.embedded_redis import embedded_server
from failure_handlers.dev.worker_process import PROJECT_ROOT, start_worker, stop_worker
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.runtime import connect
from failure_handlers.web import create_app
from tests.acl_users import create_users, delete_users, user_url
from tests.conftest import TEST_ENV
from tests.integration.alert_receivers import webhook_receiver
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from tests.redis_servers import DATA_ARGS, requires_redis_server, start_server
from tests.web.conftest import confirm_path, page_post
from worker_tasks import enqueue
from worker_tasks.example_tasks import add, import_invoice

pytestmark = pytest.mark.integration

PREFIX = TEST_ENV["DLQ_PREFIX"]
KEY_REFUSED = "has no permissions to access "  # Redis: "one of the keys used as arguments"; Valkey: "a key"
CONSUMER_REFUSED = "has no permissions to run the 'xgroup|create' command"


@pytest.fixture(scope="module", params=["valkey", pytest.param("redis-7.0", marks=requires_redis_server)])
def server_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "valkey":
        with embedded_server() as url:
            yield url
        return
    server = start_server(tmp_path_factory.mktemp("redis"), DATA_ARGS)
    yield f"redis://127.0.0.1:{server.port}/0"
    server.stop()


@pytest.fixture
def admin(server_url: str) -> Iterator[Redis]:
    connection = connect(server_url)
    connection.flushall()
    create_users(connection, PREFIX)
    yield connection
    delete_users(connection)
    connection.close()


@pytest.fixture
def archive_url(tmp_path: Path) -> str:
    """An initialised SQLite archive (`rq-dlq archive init` needs no Redis)."""
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    initialised = run_script("scripts/dlq.py", "archive", "init", env={"ARCHIVE_URL": url})
    assert initialised.returncode == 0, initialised.stderr
    return url


def dlq_cli(server_url: str, role: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`rq-dlq ARGS` logged in as ROLE's ACL user."""
    return run_script("scripts/dlq.py", *args, env={"REDIS_URL": user_url(server_url, role), **env})


def succeeds(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    return result.stdout + result.stderr


def audit_records(server_url: str) -> list[dict[str, object]]:
    """`rq-dlq audit --json` as the viewer: the audit log is readable by the read-only role."""
    result = dlq_cli(server_url, "viewer", "audit", "--json")
    succeeds(result)
    return json.loads(result.stdout)


def failed_jobs(admin: Redis, queue: str, count: int, with_entries: bool = True) -> list[str]:
    """Jobs RQ failed (and their DLQ entries with `with_entries`), their queue registered as an enqueue does."""
    dlq = DeadLetterQueue(admin, PREFIX, int(TEST_ENV["DLQ_TTL_SECONDS"])) if with_entries else None
    ids = make_failed_jobs(admin, queue, count, dlq=dlq)
    admin.sadd(Queue.redis_queues_keys, Queue(queue, connection=admin).key)
    return ids


def test_the_worker_dead_letters_and_runs_jobs(admin, server_url, archive_url, tmp_path):
    failing = enqueue(import_invoice, "INV-7", connection=admin)  # a permanent failure: dead at once
    succeeding = enqueue(add, 2, 3, connection=admin)
    log = tmp_path / "worker.log"
    with open(log, "wb") as output:  # the Procfile's line (-c failure_handlers.rq_settings), in burst mode
        worker = start_worker(
            user_url(server_url, "worker"),
            ["default"],
            env={**TEST_ENV, "ARCHIVE_URL": archive_url},
            extra_args=["--burst", "-w", "failure_handlers.queues.PausableWorker"],  # reads <prefix>queues:paused
            output=output,
            through_settings=True,
        )
    try:
        assert worker.wait(timeout=60) == 0, log.read_text()
    finally:
        stop_worker(worker)
    assert "NOPERM" not in log.read_text() and "no permissions" not in log.read_text()
    entry = DeadLetterQueue(admin, PREFIX, 3600).get(failing.id)
    assert entry is not None and entry.exc_type == "worker_tasks.example_tasks.InvoiceRejected"
    [attempt] = entry.attempt_history()
    assert attempt["exc_type"] == entry.exc_type
    assert Job.fetch(succeeding.id, connection=admin).return_value() == 5
    assert admin.xlen(f"{PREFIX}archive:events") >= 1  # the worker's scripts appended the archive's event


def test_the_reconciler_adds_missing_entries_once_and_watching(admin, server_url):
    [first] = failed_jobs(admin, "billing", 1, with_entries=False)  # RQ failed it; no handler wrote its entry
    assert "1 DLQ entries added" in succeeds(dlq_cli(server_url, "reconciler", "reconcile"))
    assert admin.exists(f"{PREFIX}entry:{first}")
    [second] = failed_jobs(admin, "reports", 1, with_entries=False)
    watcher = subprocess.Popen(
        [sys.executable, "scripts/dlq.py", "reconcile", "--watch", "--interval", "0.5s"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "REDIS_URL": user_url(server_url, "reconciler")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: watcher.poll() is not None or admin.exists(f"{PREFIX}entry:{second}"), 30, "the entry")
        assert watcher.poll() is None
    finally:
        watcher.terminate()
        output = watcher.communicate(timeout=30)[0]
    assert admin.exists(f"{PREFIX}entry:{second}"), output
    assert "Traceback" not in output and "no permissions" not in output


def test_the_operator_requeues_deletes_and_purges(admin, server_url):
    requeued, deleted, *rest = failed_jobs(admin, "billing", 4)
    assert "requeued 1" in succeeds(dlq_cli(server_url, "operator", "requeue", requeued))
    assert requeued in Queue("billing", connection=admin).job_ids
    assert f"deleted {deleted}" in succeeds(dlq_cli(server_url, "operator", "delete", deleted))
    assert not admin.exists(f"rq:job:{deleted}")
    assert "deleted 2 entries" in succeeds(dlq_cli(server_url, "operator", "purge", "--yes"))
    assert admin.zcard(f"{PREFIX}index") == 0 and all(not admin.exists(f"{PREFIX}entry:{job}") for job in rest)
    # Each action appended its record to <prefix>audit; the viewer reads them back.
    records = audit_records(server_url)
    assert [(record["action"], record["via"]) for record in records] == [
        ("purge", "cli"),
        ("delete", "cli"),
        ("requeue", "cli"),
    ]


def test_the_operator_pauses_replays_and_resumes(admin, server_url):
    [job_id] = failed_jobs(admin, "billing", 1)
    assert "paused queue 'billing'" in succeeds(dlq_cli(server_url, "operator", "pause", "billing", "--reason", "r"))
    assert "billing" in succeeds(dlq_cli(server_url, "viewer", "paused"))
    replayed = succeeds(dlq_cli(server_url, "operator", "requeue", job_id, "--args", '["INV-9"]'))
    assert "replayed with edited args" in replayed
    assert "resumed queue 'billing'" in succeeds(dlq_cli(server_url, "operator", "resume", "billing"))
    assert Queue("billing", connection=admin).job_ids == [job_id]


def test_the_operator_acts_on_the_dashboard(admin, server_url):
    requeued, deleted = failed_jobs(admin, "billing", 2)
    url = user_url(server_url, "operator")
    operator = connect(url)
    try:
        app = create_app(parse_settings({**TEST_ENV, "REDIS_URL": url, "DASHBOARD_READ_ONLY": "false"}), operator)
        app.config["TESTING"] = True
        client = app.test_client()
        for action, job_id, done in (("requeue", requeued, "requeued 1"), ("delete", deleted, "deleted 1")):
            confirm = confirm_path(page_post(client, "/actions/prepare", {"do": f"{action}:ids", "ids": job_id}))
            result = page_post(client, confirm, {})
            assert result.status_code == 200 and f"{done}, skipped 0, errors 0" in result.text, result.text[:500]
    finally:
        operator.close()
    assert requeued in Queue("billing", connection=admin).job_ids and not admin.exists(f"rq:job:{deleted}")
    assert [(record["action"], record["actor"], record["via"]) for record in audit_records(server_url)] == [
        ("delete", "anonymous", "dashboard"),
        ("requeue", "anonymous", "dashboard"),
    ]


def test_the_archiver_archives(admin, server_url, archive_url):
    settings = parse_settings({**TEST_ENV, "ARCHIVE_URL": archive_url})
    dlq = DeadLetterQueue.from_settings(admin, settings.dlq, settings.archive)  # its writes append events
    [job_id] = make_failed_jobs(admin, "billing", 1, dlq=dlq)
    archived = succeeds(dlq_cli(server_url, "archiver", "archive", "run", "--once", ARCHIVE_URL=archive_url))
    assert archived.startswith("archived 1 events")
    assert "lost 0" in succeeds(dlq_cli(server_url, "archiver", "archive", "status", ARCHIVE_URL=archive_url))
    [row] = json.loads(dlq_cli(server_url, "viewer", "history", "--json", ARCHIVE_URL=archive_url).stdout)
    assert row["job_id"] == job_id


def test_the_notifier_notifies(admin, server_url):
    failed_jobs(admin, "billing", 3)
    with webhook_receiver() as receiver:
        values = {"ALERT_WEBHOOK_URL": receiver.url(), "ALERT_WEBHOOK_FORMAT": "json", "DLQ_WARN_SIZE": "2"}
        succeeds(dlq_cli(server_url, "notifier", "alert", "--once", **values))
        assert "0 notifications claimed" in succeeds(dlq_cli(server_url, "notifier", "alert", "--once", **values))
    assert ("dlq_size_warning", "dlq") in {(body["rule"], body["subject"]) for body in receiver.bodies}


# For each role, an action its line forbids, and the permission the error names.
FORBIDDEN = [
    ("worker", ("archive", "run", "--once"), [CONSUMER_REFUSED]),  # appends to the stream, never consumes it
    ("reconciler", ("archive", "run", "--once"), [CONSUMER_REFUSED]),
    ("operator", ("archive", "run", "--once"), [CONSUMER_REFUSED]),
    # the requeue's reads pass; its first write is the claim script
    ("viewer", ("requeue", "JOB"), ["has no permissions to run the 'evalsha' command"]),
    ("viewer", ("pause", "billing"), ["has no permissions to run the 'hsetnx' command"]),
    ("archiver", ("purge", "--yes"), [KEY_REFUSED]),  # writes only <prefix>archive:*
    ("notifier", ("requeue", "JOB"), [KEY_REFUSED, "(in a Lua script of ours)"]),  # writes only <prefix>alerts:*
]


@pytest.mark.parametrize(("role", "args", "permission"), FORBIDDEN, ids=[role for role, *_ in FORBIDDEN])
def test_a_forbidden_action_is_one_line_naming_the_missing_permission(
    admin, server_url, archive_url, role, args, permission
):
    """Refused before anything changed; the notifier's requeue gets past the command check (EVALSHA is
    allowed) and is refused inside the script, at its first write to a key outside `<prefix>alerts:*`."""
    [job_id] = failed_jobs(admin, "billing", 1)
    args = tuple(job_id if arg == "JOB" else arg for arg in args)
    result = dlq_cli(server_url, role, *args, ARCHIVE_URL=archive_url)
    assert_one_line_error(result, f"the ACL user of REDIS_URL ({role})", *permission, "Least privilege")
    assert admin.exists(f"{PREFIX}entry:{job_id}")  # nothing was changed
