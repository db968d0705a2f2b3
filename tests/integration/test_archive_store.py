"""The archiver on a real server into SQLite and PostgreSQL: one row per dead-lettering, the right
outcome, exactly once through replays, out-of-order batches, expiry, retention and hostile input."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from failure_handlers.archive import database
from failure_handlers.archive.archiver import Archiver
from failure_handlers.archive.database import ArchiveUnavailable
from failure_handlers.archive.events import EventStream
from failure_handlers.archive.rows import CUT_MARK
from failure_handlers.archive.schema import LIMITS, failed_jobs
from failure_handlers.config import parse_settings
from failure_handlers.dlq.store import DeadLetterQueue
from tests.conftest import TEST_ENV
from tests.factories import dead_entry
from tests.integration.conftest import run_script


def archive_settings(url: str, **extra: str):
    return parse_settings({**TEST_ENV, "ARCHIVE_URL": url, "ARCHIVE_CLAIM_IDLE_SECONDS": "0", **extra})


@pytest.fixture
def settings(archive_url):
    return archive_settings(archive_url)


@pytest.fixture
def engine(settings):
    engine = database.make_engine(settings.archive)
    database.upgrade(engine, settings.archive)
    yield engine
    engine.dispose()


@pytest.fixture
def archiving_dlq(redis, settings):
    return DeadLetterQueue.from_settings(redis, settings.dlq, settings.archive)


def table(engine) -> list[dict]:
    with engine.connect() as connection:
        rows = connection.execute(select(failed_jobs).order_by(failed_jobs.c.id))
        return [dict(row._mapping) for row in rows]


def outcomes(engine) -> list[tuple[str, str]]:
    return sorted((row["job_id"], row["outcome"]) for row in table(engine))


def test_every_dead_lettering_is_one_row_with_how_it_ended(redis, settings, engine, archiving_dlq):
    for job_id in ("a", "b", "c", "d"):
        archiving_dlq.add(dead_entry(job_id, minutes_ago=5))
    archiving_dlq.delete(["a"], outcome="deleted", by="alice")
    archiving_dlq.delete(["b"], outcome="purged", by="bob")
    archiving_dlq.claims.claim([("c", "rq:registry:failed:default")], by="carol")
    archiving_dlq.add(dead_entry("a"))  # requeued elsewhere and dead again: a second row

    report = Archiver(redis, settings, engine).run_once()

    assert report.events == 8
    assert outcomes(engine) == [("a", "deleted"), ("a", "open"), ("b", "purged"), ("c", "requeued"), ("d", "open")]
    deleted = next(row for row in table(engine) if row["outcome"] == "deleted")
    assert deleted["outcome_by"] == "alice" and deleted["outcome_at"] is not None
    assert deleted["func"] == "worker_tasks.example_tasks.import_invoice" and deleted["args"] == '["INV-1"]'
    assert EventStream(redis, settings.dlq.prefix).status().pending == 0


def test_a_batch_committed_but_not_acknowledged_is_replayed_without_a_second_row(
    redis, settings, engine, archiving_dlq
):
    archiving_dlq.add(dead_entry("a"))
    archiving_dlq.delete(["a"], by="alice")
    dying = Archiver(redis, settings, engine, consumer="dying")
    dying.stream.ensure_group()
    batch = dying.next_batch()
    dying.store.write(batch)  # committed; the process dies before XACK

    Archiver(redis, settings, engine, consumer="successor").run_once()

    assert outcomes(engine) == [("a", "deleted")]
    assert EventStream(redis, settings.dlq.prefix).status().pending == 0


def test_an_outcome_read_before_its_dead_lettering_still_ends_as_one_complete_row(
    redis, settings, engine, archiving_dlq
):
    archiving_dlq.add(dead_entry("a"))
    archiving_dlq.delete(["a"], outcome="purged", by="bob")
    archiver = Archiver(redis, settings, engine)
    archiver.stream.ensure_group()
    dead, purged = archiver.next_batch()
    archiver.store.write([purged])  # a late batch claimed from a dead archiver comes second
    archiver.store.write([dead])

    [row] = table(engine)
    assert (row["outcome"], row["outcome_by"], row["exc_type"]) == (
        "purged", "bob", "worker_tasks.example_tasks.InvoiceRejected",
    )  # fmt: skip


def test_an_entry_gone_from_redis_is_marked_expired(redis, settings, engine, archiving_dlq):
    archiving_dlq.add(dead_entry("a", minutes_ago=120))  # older than DLQ_TTL_SECONDS (3600)
    archiving_dlq.add(dead_entry("b"))
    archiver = Archiver(redis, settings, engine)
    archiver.drain()
    redis.delete(archiving_dlq.keys.entry("a"))  # what EXPIREAT does

    assert archiver.run_once().expired == 1
    expired = next(row for row in table(engine) if row["job_id"] == "a")
    assert (expired["outcome"], expired["outcome_by"]) == ("expired", "DLQ_TTL_SECONDS")
    assert outcomes(engine) == [("a", "expired"), ("b", "open")]


def test_retention_deletes_rows_older_than_the_retention_days(redis, engine, archive_url):
    settings = archive_settings(archive_url, ARCHIVE_RETENTION_DAYS="1")
    dlq = DeadLetterQueue.from_settings(redis, settings.dlq, settings.archive)
    dlq.add(dead_entry("old", minutes_ago=3 * 24 * 60))
    dlq.add(dead_entry("new"))
    archiver = Archiver(redis, settings, engine)
    archiver.drain()

    assert archiver.store.apply_retention(1, now=datetime.now(UTC)) == 1
    assert [row["job_id"] for row in table(engine)] == ["new"]


def test_hostile_events_become_bounded_rows(redis, settings, engine, archiving_dlq):
    archiving_dlq.add(dead_entry("a"))
    stream = EventStream(redis, settings.dlq.prefix)
    entry = b'{"exc_message": "caf\xe9 \\u0000 nul", "traceback": "' + b"x" * 10_000_000 + b'", "attempts": "many"}'
    redis.xadd(stream.key, {"seq": 2, "type": "dead", "id": "hostile@1", "job": "hostile", "at": "x", "entry": entry})
    redis.xadd(
        stream.key, {"seq": 3, "type": "dead", "id": "raw@1", "job": "raw", "at": time.time(), "entry": b"\xff\xfe"}
    )

    Archiver(redis, settings, engine).run_once()

    rows = {row["job_id"]: row for row in table(engine)}
    hostile = rows["hostile"]
    assert len(hostile["traceback"]) == LIMITS["traceback"] and hostile["traceback"].endswith(CUT_MARK)
    assert "\x00" not in hostile["message"] and "\ufffd" in hostile["message"] and hostile["attempts"] == 0
    assert set(rows) == {"a", "hostile", "raw"}


def test_a_database_that_is_down_leaves_every_event_pending(redis):
    settings = archive_settings("postgresql://postgres:s3cret-pw@127.0.0.1:1/nowhere")
    dlq = DeadLetterQueue.from_settings(redis, settings.dlq, settings.archive)
    dlq.add(dead_entry("a"))
    dlq.add(dead_entry("b"))
    archiver = Archiver(redis, settings, database.make_engine(settings.archive))

    with pytest.raises(ArchiveUnavailable) as raised:
        archiver.drain()

    assert "s3cret-pw" not in str(raised.value) and "127.0.0.1:1" in str(raised.value)
    assert EventStream(redis, settings.dlq.prefix).status().pending == 2


def test_stats_split_failures_by_day_function_and_group_with_outcomes(redis, settings, engine, archiving_dlq):
    from failure_handlers.archive import history
    from failure_handlers.dlq.filters import DlqFilter

    archiving_dlq.add(dead_entry("a", fingerprint="fp1"))
    archiving_dlq.add(dead_entry("b", fingerprint="fp1", func_name="billing.charge"))
    archiving_dlq.add(dead_entry("c", fingerprint="fp2", exc_message="100% broken_thing"))
    archiving_dlq.delete(["a"], by="alice")
    Archiver(redis, settings, engine).run_once()

    figures = history.stats(engine, history.HistoryFilter())
    assert figures["total"] == 3 and figures["by_outcome"] == {"deleted": 1, "open": 2}
    [day] = figures["per_day"]
    assert day["key"] == datetime.now(UTC).date().isoformat() and day["open"] == 2 and day["deleted"] == 1
    assert figures["per_group"][0] == {"key": "fp1", "total": 2, "open": 1, "deleted": 1,
                                       "exc_type": "worker_tasks.example_tasks.InvoiceRejected"}  # fmt: skip
    found = history.rows(engine, history.HistoryFilter(DlqFilter(search="100% BROKEN_")))
    assert [row["job_id"] for row in found] == ["c"]
    assert history.count(engine, history.HistoryFilter(DlqFilter(search="0%_"))) == 0
    week_ago = (datetime.now(UTC) - timedelta(days=7)).timestamp()
    deleted = history.HistoryFilter(DlqFilter(func="worker_tasks.example_tasks.import_invoice", since=week_ago),
                                    outcome="deleted")  # fmt: skip
    assert [row["job_id"] for row in history.rows(engine, deleted)] == ["a"]


def history_item(run, at, worker, exc_type="RuntimeError"):
    return {"attempt": 1, "run": run, "exc_type": exc_type, "message": "ledger", "failed_at": at, "worker": worker}


def test_a_job_recorded_again_is_one_row_with_its_first_real_cause_events_and_duplicated_runs(
    redis, settings, engine, archiving_dlq
):
    """A second worker ran attempt 1 again, then RQ's cleanup recorded the job abandoned: the merged
    entry's `dead` event refreshes the row (docs/dlq-contract.md#the-first-cause-wins)."""
    first = dead_entry("a", exc_type="RuntimeError", exc_message="ledger out of balance",
                       failures=json.dumps([history_item(1, "2026-11-29T01:00:00Z", "w1")]))  # fmt: skip
    runs = [
        history_item(1, "2026-11-29T01:00:00Z", "w1"),
        history_item(2, "2026-11-29T01:01:00Z", "w2"),
        history_item(2, "2026-11-29T01:02:00Z", "w2", exc_type="rq.exceptions.AbandonedJobError"),
    ]
    archiving_dlq.add(first)
    archiving_dlq.add(dead_entry("a", exc_type="rq.exceptions.AbandonedJobError", exc_message="abandoned",
                                 worker="w2", failures=json.dumps(runs)))  # fmt: skip

    Archiver(redis, settings, engine).run_once()

    [row] = table(engine)
    assert (row["exc_type"], row["message"], row["duplicated_runs"]) == ("RuntimeError", "ledger out of balance", 1)
    [event] = json.loads(row["events"])
    assert (event["when"], event["exc_type"], event["worker"]) == ("then", "rq.exceptions.AbandonedJobError", "w2")
    assert row["entry_seq"] == row["event_seq"] == 2
    shown = run_script("scripts/dlq.py", "history", env={"ARCHIVE_URL": settings.archive.url})
    assert shown.returncode == 0, shown.stderr
    assert "2/4 (1 duplicated)" in shown.stdout and "then: rq.exceptions.AbandonedJobError" in shown.stdout


def test_an_older_dead_event_arriving_late_does_not_undo_the_merged_entry(redis, settings, engine, archiving_dlq):
    """Recorded abandoned first, then with its real cause: the late first event keeps the real cause."""
    archiving_dlq.add(dead_entry("a", exc_type="rq.exceptions.AbandonedJobError", exc_message="abandoned"))
    archiving_dlq.add(dead_entry("a", exc_type="RuntimeError", exc_message="ledger out of balance"))
    archiver = Archiver(redis, settings, engine)
    archiver.stream.ensure_group()
    abandoned, merged = archiver.next_batch()
    archiver.store.write([merged])
    archiver.store.write([abandoned])  # a dead archiver's batch, claimed late

    [row] = table(engine)
    assert (row["exc_type"], row["entry_seq"]) == ("RuntimeError", 2)
    assert json.loads(row["events"])[0]["when"] == "first recorded as"


def test_an_archive_at_the_previous_schema_upgrades_in_place(archive_url, settings):
    """A database `rq-dlq archive init` made at revision 0001 gets the new columns; its rows stay."""
    from alembic import command
    from sqlalchemy import text

    engine = database.make_engine(settings.archive)
    with engine.begin() as connection:
        command.upgrade(database._alembic_config(connection), "0001")
        for key, outcome, seq in (("open@1", "open", 7), ("gone@1", "deleted", 9)):
            connection.execute(
                text("INSERT INTO failed_jobs (dead_letter_id, job_id, failed_at, archived_at, outcome, event_seq) "
                     "VALUES (:key, :key, :now, :now, :outcome, :seq)"),
                {"key": key, "now": datetime.now(UTC), "outcome": outcome, "seq": seq},
            )  # fmt: skip
    with pytest.raises(database.SchemaMismatch, match="at schema 0001, older than this code's 0003"):
        database.check_schema(engine, settings.archive)

    assert database.upgrade(engine, settings.archive) == ("0001", "0003")

    database.check_schema(engine, settings.archive)
    rows = {row["job_id"]: row for row in table(engine)}
    assert [(rows[key]["duplicated_runs"], rows[key]["events"], rows[key]["entry_seq"]) for key in rows] == [
        (0, "[]", 7), (0, "[]", 0),
    ]  # fmt: skip
    engine.dispose()


def test_history_search_looks_in_the_message_and_the_arguments_as_the_dlq_does(redis, settings, engine, archiving_dlq):
    from failure_handlers.archive import history
    from failure_handlers.dlq.filters import DlqFilter

    archiving_dlq.add(dead_entry("m", exc_message="Échec de l'import"))
    archiving_dlq.add(dead_entry("a", args='["INV-42"]'))
    archiving_dlq.add(dead_entry("k", kwargs='{"sku": "SKU-7_%"}'))
    Archiver(redis, settings, engine).run_once()

    def found(needle: str) -> list[str]:
        return sorted(row["job_id"] for row in history.rows(engine, history.HistoryFilter(DlqFilter(search=needle))))

    assert found("DE L'IMPORT") == ["m"] and found("inv-42") == ["a"] and found("sku-7_%") == ["k"]
    assert found("'") == ["m"] and found("%") == ["k"] and found("_") == ["k"]
    assert found("\x1f") == [] and found("' OR 1=1 --") == []
