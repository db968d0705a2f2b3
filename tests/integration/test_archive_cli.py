"""`rq-dlq archive` and `rq-dlq history` as an operator runs them: a real worker dead-letters, a
real archiver process writes the rows; bad databases give one line and exit 2, and lose nothing."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest

from failure_handlers.archive.events import EventStream
from tests.conftest import TEST_ENV
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from tests.private_postgres import PASSWORD, private_cluster
from worker_tasks import enqueue, import_invoice


def dlq_cli(*args: str, url: str | None = None) -> object:
    return run_script("scripts/dlq.py", *args, env={"ARCHIVE_URL": url} if url else None)


def test_a_dead_job_reaches_the_archive_and_its_history(redis, dlq, worker, archive_url):
    assert dlq_cli("archive", "init", url=archive_url).returncode == 0
    worker(ARCHIVE_URL=archive_url)
    job = enqueue(import_invoice, "INV-42", connection=redis)  # a permanent failure: dead at once
    wait_for(lambda: dlq.get(job.id), 30, "the DLQ entry")

    archived = dlq_cli("archive", "run", "--once", url=archive_url)
    assert archived.returncode == 0, archived.stderr
    assert archived.stdout.startswith("archived 1 events")

    [row] = json.loads(dlq_cli("history", "--json", "--job-id", job.id, url=archive_url).stdout)
    assert (row["job_id"], row["outcome"], row["func"]) == (job.id, "open", "worker_tasks.example_tasks.import_invoice")
    assert "INV-42" in row["args"] and "Traceback" in row["traceback"]
    table = dlq_cli("history", "--exc-type", "worker_tasks.example_tasks.InvoiceRejected", url=archive_url)
    assert job.id in table.stdout and "open" in table.stdout
    [record] = csv.DictReader(io.StringIO(dlq_cli("history", "--csv", url=archive_url).stdout))
    assert record["job_id"] == job.id
    stats = json.loads(dlq_cli("history", "stats", "--json", url=archive_url).stdout)
    assert stats["total"] == 1 and stats["per_func"][0]["key"] == "worker_tasks.example_tasks.import_invoice"

    assert dlq_cli("delete", job.id, url=archive_url).returncode == 0
    assert dlq_cli("archive", "run", "--once", url=archive_url).returncode == 0
    [row] = json.loads(dlq_cli("history", "--json", "--outcome", "deleted", url=archive_url).stdout)
    assert row["outcome_by"].startswith("rq-dlq delete (")
    status = dlq_cli("archive", "status", url=archive_url)
    assert status.returncode == 0 and "lost 0" in status.stdout and "database: ok" in status.stdout


def test_bad_history_filters_are_usage_errors(redis, archive_url):
    dlq_cli("archive", "init", url=archive_url)
    assert_one_line_error(dlq_cli("history", "--outcome", "vanished", url=archive_url), "--outcome")
    assert_one_line_error(dlq_cli("history", "--since", "yesterday-ish", url=archive_url), "--since")


def test_the_archive_commands_need_archive_url(redis):
    assert_one_line_error(dlq_cli("history"), "ARCHIVE_URL")


@pytest.mark.parametrize(
    ("archive_url_value", "fragment"),
    [
        ("mysql://root@localhost/x", "ARCHIVE_URL="),
        ("postgresql://postgres:hunter2-secret@127.0.0.1:1/none", "127.0.0.1:1"),
    ],
)
def test_a_bad_or_unreachable_database_is_one_line_without_the_password(redis, archive_url_value, fragment):
    for command in (("archive", "init"), ("archive", "run", "--once"), ("history",)):
        result = dlq_cli(*command, url=archive_url_value)
        assert_one_line_error(result, fragment)
        assert "hunter2" not in result.stderr + result.stdout


def test_a_schema_missing_or_newer_than_the_code_is_refused(redis, dlq, tmp_path):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    assert_one_line_error(dlq_cli("archive", "run", "--once", url=url), "rq-dlq archive init")
    assert dlq_cli("archive", "init", url=url).returncode == 0
    with sqlite3.connect(tmp_path / "archive.db") as connection:
        connection.execute("UPDATE rq_dlq_archive_version SET version_num = '9999'")
    assert_one_line_error(dlq_cli("archive", "run", "--once", url=url), "newer than this code")
    assert_one_line_error(dlq_cli("archive", "init", url=url), "nothing was changed")


def test_a_read_only_sqlite_database_keeps_the_events_pending(redis, tmp_path):
    url = f"sqlite:///{tmp_path / 'db' / 'archive.db'}"
    (tmp_path / "db").mkdir()
    assert dlq_cli("archive", "init", url=url).returncode == 0
    env = {**TEST_ENV, "ARCHIVE_URL": url}
    from failure_handlers.config import parse_settings
    from failure_handlers.dlq.store import DeadLetterQueue
    from tests.factories import dead_entry

    settings = parse_settings(env)
    DeadLetterQueue.from_settings(redis, settings.dlq, settings.archive).add(dead_entry("a"))
    read_only = f"sqlite:///file:{tmp_path / 'db' / 'archive.db'}?mode=ro&uri=true"
    result = dlq_cli("archive", "run", "--once", url=read_only)
    assert_one_line_error(result, "readonly database")
    assert EventStream(redis, TEST_ENV["DLQ_PREFIX"]).status().pending == 1
    assert dlq_cli("archive", "run", "--once", url=url).returncode == 0
    assert EventStream(redis, TEST_ENV["DLQ_PREFIX"]).status().pending == 0


def test_a_wrong_password_is_refused_in_one_line_that_never_shows_it(redis):
    with private_cluster() as cluster:
        wrong = cluster.url.replace(PASSWORD, "not-the-password-xyz")
        result = dlq_cli("archive", "init", url=wrong)
        assert_one_line_error(result, "password authentication failed", "check the password in ARCHIVE_URL")
        assert "not-the-password-xyz" not in result.stderr and PASSWORD not in result.stderr
        assert dlq_cli("archive", "init", url=cluster.url).returncode == 0
