"""The audit log on a real server: the CLI's, the API's and Python's actions recorded with the
right actor, read back by `rq-dlq audit`, bounded, and archived into SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from benchmarks.synthetic import make_failed_jobs
from failure_handlers.archive import database
from failure_handlers.archive.archiver import Archiver
from failure_handlers.archive.schema import audit as audit_table
from failure_handlers.audit import Actor, AuditLog
from failure_handlers.audit.actor import os_user
from failure_handlers.config import parse_settings
from failure_handlers.dev.worker_process import PROJECT_ROOT
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.bulk import delete_ids
from failure_handlers.operations.requeue_run import RequeueOptions, requeue_jobs
from tests.conftest import TEST_ENV
from tests.integration.conftest import assert_one_line_error, run_script

pytestmark = pytest.mark.integration
PREFIX = TEST_ENV["DLQ_PREFIX"]
RQ_DLQ = str(Path(sys.executable).parent / "rq-dlq")


def dlq_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_script("scripts/dlq.py", *args, env=env or None)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture
def dlq(redis):
    return DeadLetterQueue(redis, PREFIX, int(TEST_ENV["DLQ_TTL_SECONDS"]))


def test_cli_actions_are_recorded_with_the_os_user_and_read_back(redis, dlq):
    requeued, deleted, kept, *purged = make_failed_jobs(redis, "billing", 6, dlq=dlq)
    make_failed_jobs(redis, "mail", 1, dlq=dlq)
    ok(run_script("scripts/requeue.py", requeued))
    ok(dlq_cli("delete", deleted))
    ok(dlq_cli("delete", "--keep-job", kept))
    ok(dlq_cli("purge", "--queue", "billing", "--yes"))
    ok(dlq_cli("purge", "--dry-run"))  # a dry run changes nothing and is not recorded
    records = json.loads(ok(dlq_cli("audit", "--json")))
    me = os_user()
    assert [(r["action"], r["actor"], r["via"], r["outcome"]) for r in records] == [
        ("purge", me, "cli", "ok"),
        ("dismiss", me, "cli", "ok"),
        ("delete", me, "cli", "ok"),
        ("requeue", me, "cli", "ok"),
    ]
    purge = records[0]
    assert purge["filter"] == "queue=billing" and purge["count"] == 3 and sorted(purge["ids"]) == sorted(purged)
    assert records[3]["ids"] == [requeued] and records[3]["summary"].startswith("requeued 1, skipped 0, errors 0")
    assert [r["action"] for r in json.loads(ok(dlq_cli("audit", "--json", "--action", "delete")))] == ["delete"]
    assert json.loads(ok(dlq_cli("audit", "--json", "--actor", "nobody-like-this"))) == []
    assert json.loads(ok(dlq_cli("audit", "--json", "--since", "2099-01-01T00:00:00"))) == []
    table = ok(dlq_cli("audit"))
    assert "purge" in table and "queue=billing (3 matched)" in table and me in table


def test_a_bad_audit_option_is_one_line(redis):
    assert_one_line_error(dlq_cli("audit", "--since", "yesterdayish"), "--since")
    assert_one_line_error(dlq_cli("audit", "--action", "explode"), "--action")


def test_python_callers_are_recorded_as_python(redis, dlq):
    first, second = make_failed_jobs(redis, "billing", 2, dlq=dlq)
    options = RequeueOptions(3, [1], 100, "pickle")
    assert requeue_jobs(redis, dlq, [first], options).done == 1
    assert delete_ids(redis, dlq, [second]).done == 1
    requeue_jobs(redis, dlq, [second], RequeueOptions(3, [1], 100, "pickle", dry_run=True))  # not recorded
    records = AuditLog(redis, PREFIX).read()
    assert [(r.action, r.actor, r.via) for r in records] == [
        ("delete", os_user(), "python"),
        ("requeue", os_user(), "python"),
    ]
    assert records[0].outcome == "ok" and records[1].ids == [first]


def test_the_log_stays_bounded(redis, dlq):
    settings = parse_settings({**TEST_ENV, "AUDIT_MAX_ENTRIES": "5"})
    log = AuditLog.from_settings(redis, settings)
    ids = make_failed_jobs(redis, "billing", 12, dlq=dlq)
    for job_id in ids:
        delete_ids(redis, dlq, [job_id], audit=log, actor=Actor("bot", "api", "admin"))
    assert redis.xlen(f"{PREFIX}audit") == 5
    assert [r.ids[0] for r in log.read()] == list(reversed(ids))[:5]


def test_a_bad_audit_bound_stops_the_command(redis):
    assert_one_line_error(dlq_cli("audit", AUDIT_MAX_ENTRIES="0"), "AUDIT_MAX_ENTRIES")


def test_records_reach_the_sql_archive_once(redis, archive_url):
    settings = parse_settings({**TEST_ENV, "ARCHIVE_URL": archive_url, "ARCHIVE_CLAIM_IDLE_SECONDS": "0"})
    engine = database.make_engine(settings.archive)
    try:
        database.upgrade(engine, settings.archive)
        dlq = DeadLetterQueue.from_settings(redis, settings.dlq, settings.archive)
        ids = make_failed_jobs(redis, "billing", 3, dlq=dlq)
        hostile = "ops\x00<b>\u202e" + "é" * 400
        log = AuditLog.from_settings(redis, settings)
        delete_ids(redis, dlq, ids[:2], audit=log, actor=Actor(hostile, "dashboard", "admin", "10.0.0.5"), what="q=1")
        ok(dlq_cli("purge", "--yes", ARCHIVE_URL=archive_url))
        archiver = Archiver(redis, settings, engine)
        archiver.run_once()
        archiver.store.write(archiver.stream.claim_stale(0, 100) or [])  # nothing pending: a no-op
        # Replay every event of the stream, as a crash between commit and XACK would: nothing doubles.
        from failure_handlers.archive.events import Event

        archiver.store.write([Event.parse(sid, raw) for sid, raw in redis.xrange(f"{PREFIX}archive:events")])
        with engine.connect() as connection:
            rows = [dict(row._mapping) for row in connection.execute(select(audit_table).order_by(audit_table.c.id))]
    finally:
        engine.dispose()
    assert [(row["action"], row["via"], row["count"], row["outcome"]) for row in rows] == [
        ("delete", "dashboard", 2, "ok"),
        ("purge", "cli", 1, "ok"),
    ]
    assert rows[0]["actor"].startswith("ops\ufffd<b>\u202e") and len(rows[0]["actor"]) <= 255
    assert sorted(json.loads(rows[0]["ids"])) == sorted(ids[:2]) and rows[0]["filter"] == "q=1"
    assert rows[1]["actor"] == os_user() and json.loads(rows[1]["ids"]) == [ids[2]]
    assert rows[0]["at"] is not None and rows[0]["address"] == "10.0.0.5"


def test_user_hash_prints_a_line_the_dashboard_accepts(tmp_path):
    result = subprocess.run(
        [RQ_DLQ, "user", "hash", "--name", "alice", "--role", "operator"], input="pw one two\npw one two\n",
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("user alice operator $argon2id$") and "pw one two" not in result.stdout + result.stderr
    from failure_handlers.web.users import parse_users

    assert parse_users(line, "test").check_password("alice", "pw one two").role == "operator"
    token = subprocess.run(
        [RQ_DLQ, "user", "token", "ci", "--role", "admin"], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30
    )
    secret = token.stderr.rsplit(": ", 1)[1].strip()
    assert parse_users(token.stdout.strip(), "test").check_token(secret).role == "admin"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("user alice admin hunter2-plain", "the password of alice is not an Argon2 hash"),
        (
            "user alice superuser $argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
            "unknown role 'superuser'",
        ),
        ("nonsense", "expected `user|token NAME ROLE HASH`"),
    ],
)
def test_a_bad_users_file_stops_the_dashboard_at_start(redis_url, tmp_path, content, fragment):
    users = tmp_path / "users"
    users.write_text(content + "\n")
    port = _free_port()
    result = subprocess.run(
        [RQ_DLQ, "web", "--port", str(port)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30,
        env={**os.environ, **TEST_ENV, "REDIS_URL": redis_url, "DASHBOARD_USERS_FILE": str(users)},
    )  # fmt: skip
    assert_one_line_error(result, "DASHBOARD_USERS_FILE", "line 1", fragment)
    assert "hunter2" not in result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
