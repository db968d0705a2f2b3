"""The archive's events, written by the DLQ's own Lua scripts (fakeredis + lupa: the real scripts)."""

from __future__ import annotations

import pytest

from failure_handlers.archive.events import EventStream
from failure_handlers.dlq.store import DeadLetterQueue
from tests.factories import dead_entry

PREFIX = "test:dlq:"


@pytest.fixture
def dlq(fake_redis):
    return DeadLetterQueue(fake_redis, PREFIX, 3600, max_entries=5, archive_maxlen=1000)


def events(connection):
    stream = EventStream(connection, PREFIX, consumer="test")
    stream.ensure_group()
    return stream.read_new(1000)


def test_archive_off_appends_nothing(fake_redis):
    DeadLetterQueue(fake_redis, PREFIX, 3600).add(dead_entry("a"))
    assert not fake_redis.exists(f"{PREFIX}archive:events", f"{PREFIX}archive:seq")
    assert fake_redis.hget(f"{PREFIX}entry:a", "archive_id") is None


def test_dead_lettering_appends_its_entry_with_a_fresh_archive_id(fake_redis, dlq):
    dlq.add(dead_entry("a"))
    [event] = events(fake_redis)
    assert (event.kind, event.job_id, event.seq) == ("dead", "a", 1)
    assert event.archive_id.startswith("a@") and event.entry["exc_type"].endswith("InvoiceRejected")
    assert fake_redis.hget(f"{PREFIX}entry:a", "archive_id").decode() == event.archive_id


def test_rewriting_the_same_dead_lettering_keeps_its_archive_id(fake_redis, dlq):
    dlq.add(dead_entry("a"))
    dlq.add(dead_entry("a", exc_message="again"))
    first, second = events(fake_redis)
    assert first.archive_id == second.archive_id and second.entry["exc_message"] == first.entry["exc_message"]
    assert "again" in second.entry["events"]  # the first cause stays (recording/first_cause.py)


def test_dead_again_after_a_delete_is_a_new_dead_lettering(fake_redis, dlq):
    dlq.add(dead_entry("a", minutes_ago=5))
    dlq.delete(["a"], outcome="purged", by="me")
    dlq.add(dead_entry("a"))
    dead, purged, again = events(fake_redis)
    assert (purged.kind, purged.outcome, purged.by, purged.archive_id) == ("outcome", "purged", "me", dead.archive_id)
    assert again.archive_id != dead.archive_id


def test_claim_marks_requeued_and_release_reopens(fake_redis, dlq):
    dlq.add(dead_entry("a"))
    dlq.claims.claim([("a", "rq:registry:failed:default")], by="tester")
    dlq.claims.release([dlq.get("a")])
    _, claimed, released = events(fake_redis)
    assert (claimed.outcome, claimed.by, released.outcome) == ("requeued", "tester", "open")


def test_entries_trimmed_by_count_are_reported_trimmed(fake_redis, dlq):
    for n in range(6):
        dlq.add(dead_entry(f"j{n}", minutes_ago=10 - n))
    trimmed = [event for event in events(fake_redis) if event.kind == "outcome"]
    assert [(event.job_id, event.outcome, event.by) for event in trimmed] == [("j0", "trimmed", "DLQ_MAX_ENTRIES")]


def test_events_trimmed_before_they_were_read_are_counted_lost(fake_redis):
    small = DeadLetterQueue(fake_redis, PREFIX, 3600, archive_maxlen=100)
    stream = EventStream(fake_redis, PREFIX, consumer="test")
    stream.ensure_group()
    for n in range(150):
        small.add(dead_entry(f"j{n}"))
    fake_redis.xtrim(stream.key, maxlen=100, approximate=False)  # what MAXLEN ~ does in whole nodes on a real server
    read = stream.read_new(1000)
    status = stream.status()
    assert (status.appended, status.lost, len(read)) == (150, 50, 100)
    assert read[0].seq == 51 and status.lag == 0 and status.pending == 100
