"""The audit log in Redis (fakeredis): what a record holds, bounded; reads; the archive's event."""

from __future__ import annotations

import fakeredis
import pytest

from failure_handlers.archive.events import Event
from failure_handlers.audit import Actor, AuditLog, Target
from failure_handlers.audit.log import IDS_KEPT, outcome_of

PREFIX = "t:dlq:"
ALICE = Actor("alice", "dashboard", "operator", "10.0.0.5")


@pytest.fixture
def connection() -> fakeredis.FakeRedis:
    return fakeredis.FakeRedis()


def test_a_record_holds_who_when_what_and_the_outcome(connection):
    log = AuditLog(connection, PREFIX, max_entries=100)
    log.record("purge", ALICE, Target(["a", "b"], "queue=billing", matched=2), "ok", "deleted 2", at=1_000.5)
    [record] = log.read()
    assert (record.action, record.actor, record.via, record.role, record.address) == (
        "purge", "alice", "dashboard", "operator", "10.0.0.5",
    )  # fmt: skip
    assert (record.at, record.ids, record.count, record.filter, record.outcome, record.summary) == (
        1_000.5, ["a", "b"], 2, "queue=billing", "ok", "deleted 2",
    )  # fmt: skip


def test_the_log_is_trimmed_to_its_bound_oldest_first(connection):
    log = AuditLog(connection, PREFIX, max_entries=5)
    for number in range(12):
        log.record("requeue", ALICE, Target([f"job-{number}"]), "ok")
    assert log.length() == 5
    assert [record.ids[0] for record in log.read()] == [f"job-{n}" for n in range(11, 6, -1)]


def test_an_unbounded_writer_does_not_cut_a_longer_log(connection):
    configured = AuditLog(connection, PREFIX, max_entries=50)
    for _ in range(20):
        configured.record("requeue", ALICE, Target(["x"]), "ok")
    AuditLog(connection, PREFIX).record("delete", Actor("bob@host", "python"), Target(["y"]), "ok")
    assert configured.length() == 21


def test_ids_are_kept_bounded_and_the_count_exact(connection):
    log = AuditLog(connection, PREFIX, max_entries=10)
    ids = [f"job-{n}" for n in range(5_000)]
    log.record("delete", ALICE, Target(ids), "ok")
    [record] = log.read()
    assert len(record.ids) == IDS_KEPT and record.count == 5_000


def test_hostile_text_is_bounded_and_kept_as_text(connection):
    log = AuditLog(connection, PREFIX, max_entries=10)
    hostile = "<script>alert(1)</script>\x00\u202e" + "x" * 5_000
    log.record("requeue", Actor(hostile, "api"), Target([hostile], hostile), "ok", hostile)
    [record] = log.read()
    assert record.actor.startswith("<script>alert(1)</script>\ufffd\u202e") and len(record.actor) <= 255
    assert len(record.filter) <= 1_000 and len(record.summary) <= 1_000 and len(record.ids[0]) <= 255


def test_reads_filter_by_time_actor_and_action_and_write_nothing(connection):
    log = AuditLog(connection, PREFIX, max_entries=10)
    log.record("requeue", Actor("alice@ops-1", "cli"), Target(["a"]), "ok")
    log.record("purge", Actor("bob", "dashboard", "admin"), Target([], "every dead job", 0), "nothing")
    before = connection.xinfo_stream(f"{PREFIX}audit")["last-generated-id"]
    assert [r.actor for r in log.read(actor="ALICE")] == ["alice@ops-1"]
    assert [r.action for r in log.read(action="purge")] == ["purge"]
    assert log.read(since=4_000_000_000) == []
    assert len(log.read(since=0, limit=1)) == 1
    assert connection.xinfo_stream(f"{PREFIX}audit")["last-generated-id"] == before


def test_with_the_archive_on_the_record_also_goes_to_the_archive_stream(connection):
    log = AuditLog(connection, PREFIX, max_entries=10, archive_maxlen=1_000)
    stream_id = log.record("delete", ALICE, Target(["a"]), "ok", "deleted 1")
    [(event_id, fields)] = connection.xrange(f"{PREFIX}archive:events")
    event = Event.parse(event_id, fields)
    assert (event.kind, event.archive_id, event.seq) == ("audit", f"audit:{stream_id}", 1)
    assert event.record["actor"] == "alice" and event.record["summary"] == "deleted 1"


def test_without_the_archive_no_event_is_appended(connection):
    AuditLog(connection, PREFIX, max_entries=10).record("delete", ALICE, Target(["a"]), "ok")
    assert not connection.exists(f"{PREFIX}archive:events")


@pytest.mark.parametrize(
    ("done", "skipped", "errors", "outcome"),
    [(3, 0, 0, "ok"), (2, 1, 0, "partial"), (2, 0, 1, "partial"), (0, 0, 2, "failed"), (0, 3, 0, "nothing"),
     (0, 0, 0, "nothing")],
)  # fmt: skip
def test_the_outcome_of_a_run(done, skipped, errors, outcome):
    assert outcome_of(done, skipped, errors) == outcome


def test_record_action_records_one_action_and_a_redis_error_is_only_a_warning(connection):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from failure_handlers.audit.reports import record_action

    log = AuditLog(connection, PREFIX, max_entries=10)
    assert record_action(log, "pause", ALICE, Target(queue="billing"), "ok", "paused billing", "bad deploy")
    [record] = log.read()
    assert (record.action, record.queue, record.detail, record.count) == ("pause", "billing", "bad deploy", 0)

    class Down(AuditLog):
        def record(self, *args, **kwargs):
            raise RedisConnectionError("Redis went away")

    assert record_action(Down(connection, PREFIX), "resume", ALICE, Target(queue="billing"), "ok") == ""
