import math
import time
from dataclasses import replace

import pytest

from failure_handlers.dlq.claims import CLAIMED_ENTRY, CLAIMED_REGISTRY
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import DeadLetterQueue
from tests.factories import dead_entry

TTL = 3600


def make_dlq(fake_redis, prefix="t:dlq:"):
    return DeadLetterQueue(fake_redis, prefix, TTL)


def test_add_then_get_round_trips_every_field(fake_redis):
    dlq = make_dlq(fake_redis)
    entry = dead_entry("a")
    dlq.add(entry)
    assert dlq.get("a") == entry


def test_fields_holding_what_a_missing_field_reads_as_are_not_stored(fake_redis):
    """Fewer hash fields, less server CPU and memory; the entry reads back the same."""
    dlq = make_dlq(fake_redis)
    entry = dead_entry("a", max_retries=0, reason="", origin="")
    dlq.add(entry)
    stored = {name.decode() for name in fake_redis.hkeys("t:dlq:entry:a")}
    defaults = {"max_retries", "reason", "origin", "failures", "events", "duplicated_runs", "job_snapshot"}
    assert not stored & defaults and {"job_id", "attempts", "args", "kwargs", "traceback"} <= stored
    assert dlq.get("a") == entry and entry.failures == "[]" and entry.duplicated_runs == 0


def test_an_entry_stored_with_every_field_reads_as_before(fake_redis):
    """An entry written before defaults were left out (every field stored) reads the same as one written now."""
    dlq = make_dlq(fake_redis)
    entry = dead_entry("a", max_retries=0, reason="")
    fake_redis.hset("t:dlq:entry:old", mapping={**entry.to_hash(), "job_id": "old"})
    dlq.add(entry)
    assert len(fake_redis.hkeys("t:dlq:entry:old")) > len(fake_redis.hkeys("t:dlq:entry:a"))
    assert DeadLetterEntry.from_hash(fake_redis.hgetall("t:dlq:entry:old")) == replace(dlq.get("a"), job_id="old")


def test_values_keep_their_last_seen_time_to_the_sweep_interval(fake_redis):
    """A storm's values are already in <prefix>values with the score its adds would give: left as they are."""
    dlq = make_dlq(fake_redis)  # TTL 3600 s: a sweep every 36 s
    first, second = dead_entry("a", minutes_ago=30), dead_entry("b", minutes_ago=29.99)
    dlq.add(first)
    seen = fake_redis.zscore("t:dlq:values", "queue:default")
    assert seen % 36 == 0 and 0 <= seen - first.failed_at_epoch < 36
    dlq.add(second)
    assert fake_redis.zscore("t:dlq:values", "queue:default") == -(-second.failed_at_epoch // 36) * 36


def test_entry_and_index_use_the_documented_keys_and_ttl(fake_redis):
    make_dlq(fake_redis).add(dead_entry("a", fingerprint="g1"))
    assert fake_redis.type("t:dlq:entry:a") == b"hash"
    assert fake_redis.zscore("t:dlq:index", "a") is not None
    assert 0 < fake_redis.ttl("t:dlq:entry:a") <= TTL + 1
    # The index keys have no TTL (trimmed by count and swept by age by the add script, never refreshed).
    index_keys = ["t:dlq:index", "t:dlq:by:queue:default", "t:dlq:values", "t:dlq:groups"]
    assert [fake_redis.ttl(key) for key in index_keys] == [-1, -1, -1, -1]
    assert fake_redis.zscore("t:dlq:values", "queue:default") is not None


@pytest.mark.parametrize("fingerprint", ["g1", ""])
def test_the_indexed_fields_cross_to_the_script_once(fake_redis, fingerprint):
    """queue, func_name, exc_type and fingerprint are ARGV[13..16], not again among the flat fields
    (fewer arguments for the server to convert); the script stores them, an empty one not at all."""
    dlq = make_dlq(fake_redis)
    entry = dead_entry("a", fingerprint=fingerprint)
    names = dlq._add_args(entry)[22::2]
    assert b"job_id" in names and not {b"queue", b"func_name", b"exc_type", b"fingerprint"} & set(names)
    dlq.add(entry)
    stored = {name.decode() for name in fake_redis.hkeys("t:dlq:entry:a")}
    assert {"queue", "func_name", "exc_type"} <= stored and ("fingerprint" in stored) == bool(fingerprint)
    assert dlq.get("a") == entry


@pytest.mark.parametrize("ttl", [3600, 604800, 50, 1_000_000])
def test_the_expiry_and_the_values_time_are_the_scripts_arithmetic(fake_redis, ttl):
    """The caller computes ARGV[17..19] (expiry, sweep interval, values' last-seen time) as the script did."""
    dlq = DeadLetterQueue(fake_redis, "t:dlq:", ttl)
    entry = dead_entry("a", minutes_ago=0.5, fingerprint="g1")
    dlq.add(entry)
    sweep_every = max(1, min(3600, ttl // 100))
    assert fake_redis.expiretime("t:dlq:entry:a") == math.ceil(entry.failed_at_epoch + ttl)
    assert fake_redis.zscore("t:dlq:values", "group:g1") == math.ceil(entry.failed_at_epoch / sweep_every) * sweep_every
    assert 0 < fake_redis.ttl("t:dlq:swept") <= sweep_every


def test_index_score_is_failure_time(fake_redis):
    entry = dead_entry("a", minutes_ago=10)
    make_dlq(fake_redis).add(entry)
    assert abs(fake_redis.zscore("t:dlq:index", "a") - entry.failed_at_epoch) < 0.001


def test_get_unknown_returns_none(fake_redis):
    assert make_dlq(fake_redis).get("nope") is None


def test_list_is_newest_first_and_paginated(fake_redis):
    dlq = make_dlq(fake_redis)
    for minutes in range(10):
        dlq.add(dead_entry(f"job-{minutes}", minutes_ago=minutes))
    assert [e.job_id for e in dlq.list(limit=3)] == ["job-0", "job-1", "job-2"]
    assert [e.job_id for e in dlq.list(offset=3, limit=3)] == ["job-3", "job-4", "job-5"]
    assert [e.job_id for e in dlq.list(offset=9, limit=3)] == ["job-9"]
    assert dlq.list(offset=20) == []


def test_index_members_whose_entry_is_gone_are_skipped_on_read_and_left_in_place(fake_redis):
    dlq = make_dlq(fake_redis)
    for minutes in range(5):
        dlq.add(dead_entry(f"job-{minutes}", minutes_ago=minutes))
    fake_redis.delete("t:dlq:entry:job-1", "t:dlq:entry:job-2")  # evicted, or deleted by hand
    assert [e.job_id for e in dlq.list(limit=3)] == ["job-0", "job-3", "job-4"]
    assert [e.job_id for e in dlq.list(offset=1, limit=3, filters=DlqFilter(queue="default"))] == ["job-3", "job-4"]
    assert fake_redis.zcard("t:dlq:index") == 5  # a read never writes (read-only ACL users)
    assert dlq.dangling(newest=10) == ["job-1", "job-2"]


def test_a_writer_prunes_index_members_whose_entry_is_gone(fake_redis):
    dlq = make_dlq(fake_redis)
    for minutes in range(5):
        dlq.add(dead_entry(f"job-{minutes}", minutes_ago=minutes))
    fake_redis.delete("t:dlq:entry:job-1", "t:dlq:entry:job-2")
    assert dlq.select_ids(DlqFilter(), newest_first=True, limit=3, prune=True) == ["job-0", "job-3", "job-4"]
    assert fake_redis.zcard("t:dlq:index") == 3
    assert dlq.count() == 3 and dlq.dangling(newest=10) == []


def test_count_drops_index_members_older_than_the_ttl(fake_redis):
    dlq = make_dlq(fake_redis)
    dlq.add(dead_entry("fresh"))
    fake_redis.zadd("t:dlq:index", {"ancient": 1.0})
    assert dlq.count() == 1


def test_adding_the_same_job_again_keeps_one_entry_with_the_first_cause(fake_redis):
    dlq = make_dlq(fake_redis)
    dlq.add(dead_entry("a", exc_message="first", reason="old reason"))
    dlq.add(dead_entry("a", exc_message="second", reason=""))
    entry = dlq.get("a")
    assert entry.exc_message == "first" and entry.reason == "old reason" and "second" in entry.events
    assert dlq.count() == 1


def test_delete_removes_entry_and_index_member(fake_redis):
    dlq = make_dlq(fake_redis)
    dlq.add(dead_entry("a"))
    dlq.add(dead_entry("b"))
    assert dlq.delete(["a", "unknown"]) == 1
    assert dlq.get("a") is None and dlq.count() == 1
    assert dlq.delete([]) == 0


def test_stats_counts_by_function_and_exception(fake_redis):
    dlq = make_dlq(fake_redis)
    dlq.add(dead_entry("a"))
    dlq.add(dead_entry("b"))
    dlq.add(dead_entry("c", func_name="tasks.other", exc_type="KeyError"))
    stats = dlq.stats()
    assert stats.total == 3
    assert dict(stats.by_function) == {"worker_tasks.example_tasks.import_invoice": 2, "tasks.other": 1}
    assert stats.by_exception[0] == ("worker_tasks.example_tasks.InvoiceRejected", 2)


def test_iter_all_walks_every_page(fake_redis):
    dlq = make_dlq(fake_redis)
    for n in range(7):
        dlq.add(dead_entry(f"j{n}", minutes_ago=n))
    assert [e.job_id for e in dlq.iter_all(batch=3)] == [f"j{n}" for n in range(7)]


def test_prefixes_keep_queues_apart(fake_redis):
    make_dlq(fake_redis, "one:").add(dead_entry("a"))
    assert make_dlq(fake_redis, "two:").count() == 0


def test_partial_hash_reads_without_error():
    entry = DeadLetterEntry.from_hash({b"job_id": b"x", b"attempts": b"not-a-number", b"exc_message": b"\xff\xfe"})
    assert entry.job_id == "x" and entry.attempts == 0 and entry.func_name == ""
    assert entry.exc_message == "\ufffd\ufffd" and entry.attempt_history() == []


def fill(dlq):
    """Six entries over three queues, two functions, two exception types, three groups."""
    rows = [
        ("a", "default", "tasks.mail", "KeyError", "g1", "missing sku 1"),
        ("b", "default", "tasks.mail", "KeyError", "g1", "missing sku 2"),
        ("c", "billing", "tasks.charge", "ValueError", "g2", "bad amount"),
        ("d", "billing", "tasks.charge", "KeyError", "g3", "missing customer"),
        ("e", "mail", "tasks.mail", "ValueError", "g2", "bad amount"),
        ("f", "default", "tasks.charge", "KeyError", "g3", "missing customer"),
    ]
    for minutes, (job_id, queue, func, exc, group, message) in enumerate(rows):
        dlq.add(
            dead_entry(
                job_id,
                minutes_ago=50 - minutes,
                queue=queue,
                func_name=func,
                exc_type=exc,
                fingerprint=group,
                exc_message=message,
            )
        )


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (DlqFilter(queue="default"), ["f", "b", "a"]),
        (DlqFilter(func="tasks.charge"), ["f", "d", "c"]),
        (DlqFilter(exc="ValueError"), ["e", "c"]),
        (DlqFilter(group="g3"), ["f", "d"]),
        (DlqFilter(queue="default", exc="KeyError", func="tasks.mail"), ["b", "a"]),
        (DlqFilter(search="CUSTOMER"), ["f", "d"]),
        (DlqFilter(queue="billing", search="amount"), ["c"]),
        (DlqFilter(queue="nowhere"), []),
    ],
)
def test_filters_select_matching_entries_newest_first(fake_redis, filters, expected):
    dlq = make_dlq(fake_redis)
    fill(dlq)
    assert [e.job_id for e in dlq.list(filters=filters)] == expected
    assert dlq.count(filters) == len(expected)


def test_time_window_filters(fake_redis):
    dlq = make_dlq(fake_redis)
    fill(dlq)  # failed 50, 49, ... 45 minutes ago
    now = time.time()
    assert [e.job_id for e in dlq.list(filters=DlqFilter(since=now - 47.5 * 60))] == ["f", "e", "d"]
    assert [e.job_id for e in dlq.list(filters=DlqFilter(until=now - 48.5 * 60))] == ["b", "a"]


def test_filtered_pages_do_not_overlap(fake_redis):
    dlq = make_dlq(fake_redis)
    fill(dlq)
    filters = DlqFilter(exc="KeyError", search="missing")
    pages = [[e.job_id for e in dlq.list(offset=offset, limit=2, filters=filters)] for offset in (0, 2, 4)]
    assert pages == [["f", "d"], ["b", "a"], []]


def test_select_ids_oldest_first_for_requeue_order(fake_redis):
    dlq = make_dlq(fake_redis)
    fill(dlq)
    assert dlq.select_ids(DlqFilter()) == ["a", "b", "c", "d", "e", "f"]


def test_delete_removes_from_every_index(fake_redis):
    dlq = make_dlq(fake_redis)
    fill(dlq)
    assert dlq.delete(["a", "c"]) == 2
    assert [e.job_id for e in dlq.list(filters=DlqFilter(queue="default"))] == ["f", "b"]
    assert [e.job_id for e in dlq.list(filters=DlqFilter(group="g2"))] == ["e"]


def test_max_entries_drops_the_oldest_and_counts_them(fake_redis):
    dlq = DeadLetterQueue(fake_redis, "t:dlq:", TTL, max_entries=3)
    dropped = [dlq.add(dead_entry(f"j{n}", minutes_ago=10 - n)) for n in range(5)]
    assert dropped == [0, 0, 0, 1, 1]
    assert [e.job_id for e in dlq.list()] == ["j4", "j3", "j2"]
    assert dlq.dropped() == 2 and dlq.stats().dropped == 2
    assert not fake_redis.exists("t:dlq:entry:j0")


def test_stats_counts_ages_and_groups(fake_redis):
    dlq = make_dlq(fake_redis)
    fill(dlq)
    stats = dlq.stats()
    assert stats.total == 6
    assert dict(stats.by_kind["queue"]) == {"default": 3, "billing": 2, "mail": 1}
    assert stats.by_exception == [("KeyError", 4), ("ValueError", 2)]
    assert 49 * 60 < time.time() - stats.oldest < 51 * 60
    assert [(g.fingerprint, g.count) for g in stats.groups] == [("g1", 2), ("g2", 2), ("g3", 2)]
    g3 = stats.groups[2]
    assert g3.first_seen < g3.last_seen and g3.sample_message == "missing customer" and g3.exc_type == "KeyError"


def test_known_values(fake_redis):
    dlq = make_dlq(fake_redis)
    fill(dlq)
    assert set(dlq.known_values("queue")) == {"default", "billing", "mail"}


def test_claim_is_exclusive_and_release_restores(fake_redis):
    dlq = make_dlq(fake_redis)
    fill(dlq)
    fake_redis.zadd("rq:registry:failed:x", {"no-entry": 1})
    pairs = [("a", "rq:registry:failed:x"), ("no-entry", "rq:registry:failed:x"), ("nothing", "rq:registry:failed:x")]
    assert dlq.claims.claim(pairs) == [CLAIMED_ENTRY, CLAIMED_REGISTRY, 0]
    assert dlq.claims.claim(pairs) == [0, 0, 0]  # a second claimer gets nothing
    assert "a" not in [e.job_id for e in dlq.list(filters=DlqFilter(queue="default"))]
    assert dlq.claims.release([dlq.get("a")]) == 1
    assert [e.job_id for e in dlq.list(filters=DlqFilter(queue="default"))] == ["f", "b", "a"]


def test_stale_claims_are_released(fake_redis):
    dlq = make_dlq(fake_redis)
    fill(dlq)
    dlq.claims.claim([("a", "r"), ("b", "r")])
    assert dlq.claims.release_stale(older_than=3600) == 0
    assert dlq.claims.release_stale(older_than=-1) == 2
    assert dlq.count() == 6 and fake_redis.zcard("t:dlq:claims") == 0


def test_add_many_equals_adding_one_by_one(fake_redis):
    many = DeadLetterQueue(fake_redis, "many:", TTL, max_entries=4)
    one = DeadLetterQueue(fake_redis, "one:", TTL, max_entries=4)
    entries = [dead_entry(f"j{n}", minutes_ago=10 - n) for n in range(6)]
    assert sum(many.add_many(entries, batch=4)) == 2
    for entry in entries:
        one.add(entry)
    assert [e.job_id for e in many.list()] == [e.job_id for e in one.list()] == ["j5", "j4", "j3", "j2"]
    assert many.dropped() == one.dropped() == 2


def test_add_many_writes_only_jobs_still_in_their_guard_set(fake_redis):
    dlq = make_dlq(fake_redis)
    fake_redis.zadd("rq:failed:default", {"kept": 1})
    entries = [dead_entry("kept"), dead_entry("requeued-meanwhile")]
    assert dlq.add_many(entries, only_if_in=["rq:failed:default"] * 2) == [0, -1]
    assert [e.job_id for e in dlq.list()] == ["kept"]


def test_hostile_entry_is_cut_to_the_size_cap_with_marks_and_stored_as_utf8(fake_redis):
    from dataclasses import replace

    from failure_handlers.dlq.entry import MAX_ENTRY_BYTES, SHRUNK_MARK

    huge = replace(
        dead_entry("hostile"),
        exc_message="\udce9" * 2000,  # a lone surrogate: bytes that were not UTF-8
        traceback="☃" * 8000,
        args="é" * 4000,
        kwargs="é" * 4000,
        job_snapshot="a" * 32000,
    )
    bounded = huge.bounded()
    assert huge.size() > MAX_ENTRY_BYTES >= bounded.size()
    assert bounded.job_snapshot == "" and bounded.traceback.endswith(SHRUNK_MARK)
    make_dlq(fake_redis).add(bounded)
    assert make_dlq(fake_redis).get("hostile").exc_message.startswith("\\udce9")


def test_the_sweep_by_age_empties_every_index_key_of_what_expired(fake_redis):
    """Index keys have no TTL: the add script's sweep (due when `<prefix>swept` is gone) takes out
    members older than the TTL everywhere, and a value no longer seen with its `by:` key and sample."""
    dlq = DeadLetterQueue(fake_redis, "t:dlq:", 1000)  # a sweep at most every 10 s: the first add's
    dlq.add(dead_entry("kept", minutes_ago=1, fingerprint="g-kept"))
    dlq.add(dead_entry("aged-default", minutes_ago=20, fingerprint="g-aged"))  # expired as written
    dlq.add(dead_entry("aged-gone", minutes_ago=20, queue="gone", fingerprint="g-aged"))
    keys = dlq.keys
    assert fake_redis.zcard(keys.index) == 3 and fake_redis.exists(keys.by("queue", "gone"))  # not swept yet
    assert [entry.job_id for entry in dlq.list()] == ["kept"]  # readers skip what aged out meanwhile
    fake_redis.delete(keys.swept)
    dlq.add(dead_entry("new", fingerprint="g-kept"))
    assert fake_redis.zrange(keys.index, 0, -1) == [b"kept", b"new"]
    assert fake_redis.zrange(keys.by("queue", "default"), 0, -1) == [b"kept", b"new"]
    assert not fake_redis.exists(keys.by("queue", "gone"), keys.by("group", "g-aged"))
    assert sorted(fake_redis.zrange(keys.values, 0, -1)) == [
        b"exc:worker_tasks.example_tasks.InvoiceRejected",
        b"func:worker_tasks.example_tasks.import_invoice",
        b"group:g-kept",
        b"queue:default",
    ]
    assert fake_redis.hkeys(keys.groups) == [b"g-kept"]
    assert dlq.known_values("queue") == ["default"] and dlq.stats().total == 2


def test_trimming_by_count_counts_only_entries_that_still_existed(fake_redis):
    dlq = DeadLetterQueue(fake_redis, "t:dlq:", TTL, max_entries=2)
    for n in range(2):
        dlq.add(dead_entry(f"j{n}", minutes_ago=10 - n))
    fake_redis.delete("t:dlq:entry:j0")  # expired, or deleted by hand: its member is left in the index
    assert dlq.add(dead_entry("j2")) == 0 and dlq.dropped() == 0
    assert dlq.add(dead_entry("j3")) == 1 and dlq.dropped() == 1
    assert [entry.job_id for entry in dlq.list()] == ["j3", "j2"]


@pytest.mark.parametrize("char", ["a", "é", "☃"])
def test_bounded_cuts_exactly_what_passes_the_cap(char):
    """Its shortcuts (no byte count when 4 bytes a character, or 1 for ASCII, fit) agree with `size`."""
    from dataclasses import replace

    from failure_handlers.dlq.entry import MAX_ENTRY_BYTES

    base = dead_entry("edge")
    room = (MAX_ENTRY_BYTES - base.size()) // len(char.encode())
    fits = replace(base, traceback=base.traceback + char * room)
    over = replace(base, traceback=base.traceback + char * (room + 1))
    assert fits.size() <= MAX_ENTRY_BYTES < over.size()
    assert fits.bounded() is fits
    assert over.bounded() != over and over.bounded().size() <= MAX_ENTRY_BYTES
