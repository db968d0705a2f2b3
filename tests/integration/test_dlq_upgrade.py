"""A DLQ written by the add script of before 2026-11 (tests/fixtures/dlq_layout_2026_11: `names:<kind>`,
a TTL on every index key) under today's code, on a real server: reads work before any new write, and
the first new add migrates the layout (values merged into `<prefix>values`, the TTLs removed) while
list, show, filters, stats, metrics, trimming, delete and requeue keep working on the old entries."""

from __future__ import annotations

import time

from rq.job import Job
from rq.registry import FailedJobRegistry

from benchmarks.synthetic import dead_entry_for, make_failed_jobs
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.metrics import counters
from failure_handlers.metrics.counters import read_counters
from failure_handlers.metrics.dlq_state import read_dlq_state
from tests.dlq_layout_before import add_as_before, spec_as_before
from tests.integration.conftest import run_script

QUEUE = "billing"
OLD = 5


def spec(entry_queue: str, func: str, exc_type: str) -> str:
    increments = counters.failure_increments(entry_queue, func, exc_type, "retries_exhausted")
    return counters.spec(100, 1000, increments)


def old_spec(entry_queue: str, func: str, exc_type: str) -> str:
    increments = counters.failure_increments(entry_queue, func, exc_type, "retries_exhausted")
    return spec_as_before(100, 1000, [(metric, tuple(str(v) for v in values)) for metric, values in increments])


def test_a_dlq_written_by_the_previous_layout_is_read_migrated_and_changed(redis, dlq):
    keys, ttl = dlq.keys, dlq.ttl_seconds
    ids = make_failed_jobs(redis, QUEUE, OLD + 1)
    jobs = Job.fetch_many(ids, connection=redis)
    now = time.time()
    entries = [dead_entry_for(job, n, failed_at=now - (OLD + 1 - n) * 60) for n, job in enumerate(jobs)]
    for entry in entries[:OLD]:
        add_as_before(redis, keys.prefix, ttl, entry, counts=old_spec(entry.queue, entry.func_name, entry.exc_type))
    old_ids = [entry.job_id for entry in entries[:OLD]]
    # The old layout: values per kind, a TTL on every index key.
    assert redis.exists(keys.names("queue"), keys.names("group")) == 2 and not redis.exists(keys.values)
    assert redis.ttl(keys.index) > 0 and redis.ttl(keys.by("queue", QUEUE)) > 0 and redis.ttl(keys.groups) > 0

    # Today's readers, before any new write.
    assert [entry.job_id for entry in dlq.list()] == old_ids[::-1]
    assert dlq.get(old_ids[0]) == entries[0]
    assert dlq.known_values("queue") == [QUEUE]
    stats = dlq.stats()
    assert stats.total == OLD and dict(stats.by_kind["queue"]) == {QUEUE: OLD}
    assert sum(group.count for group in stats.groups) == OLD and all(group.exc_type for group in stats.groups)
    state = read_dlq_state(redis, keys, ttl, top_groups=10)
    assert state.by_queue == {QUEUE: OLD} and state.total == OLD
    assert sum(count for _, count in read_counters(redis, keys)["dead_lettered"]) == OLD

    # The first write of today's script, in a DLQ kept at OLD entries: the oldest old entry is trimmed,
    # the layout migrated by the sweep (the first add finds no <prefix>swept).
    full = DeadLetterQueue(redis, keys.prefix, ttl, max_entries=OLD)
    newest = entries[OLD]
    assert full.add(newest, counts=spec(newest.queue, newest.func_name, newest.exc_type)) == 1
    assert full.dropped() == 1 and dlq.get(old_ids[0]) is None
    assert not redis.exists(*(keys.names(kind) for kind in ("queue", "func", "exc", "group")))
    sweep_every = max(1, min(3600, ttl // 100))  # values keep their last-seen time to the sweep's interval
    last_seen = redis.zscore(keys.values, f"queue:{QUEUE}")
    assert last_seen % sweep_every == 0 and 0 <= last_seen - newest.failed_at_epoch < sweep_every
    old_groups = {entry.fingerprint for entry in entries[1:OLD]}
    assert {f"group:{fingerprint}" for fingerprint in old_groups} <= set(
        member.decode() for member in redis.zrange(keys.values, 0, -1)
    )
    by_keys = [keys.by("queue", QUEUE), *(keys.by("group", fingerprint) for fingerprint in old_groups)]
    assert [redis.ttl(key) for key in [keys.index, keys.groups, *by_keys]] == [-1] * (2 + len(by_keys))
    assert redis.ttl(keys.entry(old_ids[1])) > 0  # entries keep their own TTL

    # Every operation on the old entries, next to the new one.
    expected = [newest.job_id, *old_ids[:0:-1]]
    assert [entry.job_id for entry in dlq.list(filters=DlqFilter(queue=QUEUE))] == expected
    assert [entry.job_id for entry in dlq.list(filters=DlqFilter(group=entries[1].fingerprint))][-1] == old_ids[1]
    assert dlq.delete([old_ids[1]]) == 1
    assert old_ids[1] not in redis.zrange(keys.by("group", entries[1].fingerprint), 0, -1)
    requeued = run_script("scripts/requeue.py", old_ids[2])
    assert requeued.returncode == 0, requeued.stderr
    assert dlq.get(old_ids[2]) is None and old_ids[2] not in FailedJobRegistry(QUEUE, connection=redis)
    stats = dlq.stats()
    assert stats.total == OLD - 2 and dict(stats.by_kind["queue"]) == {QUEUE: OLD - 2}
    assert dlq.known_values("queue") == [QUEUE]
    assert read_dlq_state(redis, keys, ttl, top_groups=10).by_queue == {QUEUE: OLD - 2}
    assert sum(count for _, count in read_counters(redis, keys)["dead_lettered"]) == OLD + 1


def test_an_old_writer_after_the_migration_is_migrated_again(redis, dlq):
    """A rolling upgrade: a worker still running the old script writes after the new layout exists;
    the next sweep takes its names and TTLs in again, and readers see its entry in between."""
    keys, ttl = dlq.keys, dlq.ttl_seconds
    now = time.time()
    first, old, last = (dead_entry_for(None, n, failed_at=now - 60 + n) for n in range(3))
    dlq.add(first)
    add_as_before(redis, keys.prefix, ttl, old)
    assert redis.ttl(keys.index) > 0
    assert old.job_id in [entry.job_id for entry in dlq.list(filters=DlqFilter(queue=old.queue))]
    assert old.queue in dlq.known_values("queue")
    redis.delete(keys.swept)  # the sweep is due
    dlq.add(last)
    assert redis.ttl(keys.index) == -1 and not redis.exists(keys.names("queue"))
    assert [entry.job_id for entry in dlq.list()] == [last.job_id, old.job_id, first.job_id]
