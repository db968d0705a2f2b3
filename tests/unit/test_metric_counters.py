"""Counters kept in Redis by the failure handler (fakeredis with Lua): values, bounds, sanitising."""

from __future__ import annotations

import json

import pytest
from rq import Queue, Retry, SimpleWorker

from failure_handlers.metrics import counters
from failure_handlers.storage import scripts
from failure_handlers.storage.keys import DlqKeys
from worker_tasks import enqueue

PREFIX = "test:dlq:"
KEYS = DlqKeys(PREFIX)


def always_fails():
    raise ConnectionError("upstream down")


def count(connection, increments, cap=100, series=2000):
    scripts.COUNT.run(connection, [PREFIX, counters.spec(cap, series, increments)])


def test_label_values_are_sanitised_and_bounded_in_length():
    assert counters.label_value('evil"\n} 1\x1fx') == 'evil" } 1 x'
    assert counters.label_value("") == "unknown"
    assert counters.label_value(None) == "unknown"
    assert len(counters.label_value("x" * 10_000)) == counters.MAX_LABEL_CHARS


def test_a_spec_with_the_wrong_label_count_or_reason_is_refused():
    with pytest.raises(ValueError):
        counters.spec(1, 1, [("retries", ("only-queue",))])
    with pytest.raises(ValueError):
        counters.failure_increments("q", "f", "E", "because")


def test_counts_accumulate_per_series(fake_redis):
    for _ in range(3):
        count(fake_redis, counters.failure_increments("billing", "app.charge", "KeyError", None))
    count(fake_redis, counters.failure_increments("billing", "app.charge", "KeyError", "retries_exhausted"))
    figures = counters.read_counters(fake_redis, KEYS)
    assert figures["failures"] == [(("billing", "app.charge", "KeyError"), 4)]
    assert figures["retries"] == [(("billing", "app.charge"), 3)]
    assert figures["dead_lettered"] == [(("billing", "app.charge", "retries_exhausted"), 1)]
    assert figures["requeued"] == []


def test_the_specs_fast_part_is_flag_metric_then_field_and_a_broken_item_is_skipped(fake_redis):
    """`N metric US field` per increment (N: 1 new_only), apart by RS: the script takes two substrings
    per increment and tests the flag as a byte (fewer Lua strings, fewer server instructions)."""
    spec = counters.spec(100, 2000, counters.failure_increments("q", "f", "E", "retries_exhausted"))
    head, _, body = spec.partition("\n")
    assert head == "0failures\x1fq\x1ff\x1fE\x1e1dead_lettered\x1fq\x1ff\x1fretries_exhausted"
    assert scripts.COUNT.run(fake_redis, [PREFIX, spec]) == 2
    broken = "0failures\x1e" + head + "\n" + body  # an item without its separator first
    assert scripts.COUNT.run(fake_redis, [PREFIX, broken]) == 2
    assert counters.read_counters(fake_redis, KEYS)["failures"] == [(("q", "f", "E"), 2)]


def test_values_past_the_label_cap_are_counted_as_other(fake_redis):
    for n in range(10):
        count(fake_redis, [("requeued", (f"queue-{n}",))], cap=3)
    figures = dict(counters.read_counters(fake_redis, KEYS)["requeued"])
    assert figures == {("queue-0",): 1, ("queue-1",): 1, ("queue-2",): 1, ("other",): 7}
    assert fake_redis.scard(KEYS.metric_values("queue")) == 3


def test_series_past_the_series_cap_go_to_the_all_other_series(fake_redis):
    for n in range(6):
        count(fake_redis, [("retries", ("q", f"f{n}"))], cap=100, series=4)
    figures = dict(counters.read_counters(fake_redis, KEYS)["retries"])
    assert len(figures) == 4 + 1 and figures[("other", "other")] == 2  # at most `series`, plus the all-other one
    assert sum(figures.values()) == 6


def test_hostile_names_cannot_break_the_hash_fields(fake_redis):
    hostile = "x\x1fy\nz"
    count(fake_redis, counters.failure_increments(hostile, hostile, hostile, None))
    (labels, value), *_ = counters.read_counters(fake_redis, KEYS)["failures"]
    assert labels == ("x y z",) * 3 and value == 1


def test_the_handler_counts_every_run_in_its_own_round_trips(fake_redis):
    queue = Queue("unit", connection=fake_redis)
    enqueue(always_fails, queue=queue.name, connection=fake_redis, retry=Retry(max=2, interval=0))
    SimpleWorker([queue], connection=fake_redis).work(burst=True)
    figures = counters.read_counters(fake_redis, KEYS)
    func = f"{__name__}.always_fails"
    assert figures["failures"] == [(("unit", func, "ConnectionError"), 3)]
    assert figures["retries"] == [(("unit", func), 2)]
    assert figures["dead_lettered"] == [(("unit", func, "retries_exhausted"), 1)]


def test_a_final_failure_without_retries_is_counted_as_no_retries(fake_redis):
    queue = Queue("unit", connection=fake_redis)
    enqueue(always_fails, queue=queue.name, connection=fake_redis, retry=None)
    SimpleWorker([queue], connection=fake_redis).work(burst=True)
    figures = counters.read_counters(fake_redis, KEYS)
    assert [labels[2] for labels, _ in figures["dead_lettered"]] == ["no_retries"]
    assert figures["retries"] == []


def test_a_replaced_entry_counts_the_run_but_not_a_second_dead_lettering(fake_redis):
    from failure_handlers import DeadLetterQueue
    from tests.factories import dead_entry

    dlq = DeadLetterQueue(fake_redis, PREFIX, 3600)
    entry = dead_entry()
    spec = counters.spec(100, 2000, counters.failure_increments(entry.queue, entry.func_name, "E", "permanent"))
    dlq.add(entry, counts=spec)
    dlq.add(entry, counts=spec)  # e.g. RQ's cleanup re-failing a killed job the handler had recorded
    dlq.add_many([entry], only_if_in=["no-such-registry"], counts=[spec])  # the reconciler's guard fails
    figures = counters.read_counters(fake_redis, KEYS)
    assert [count for _, count in figures["failures"]] == [2]
    assert [count for _, count in figures["dead_lettered"]] == [1]
    dlq.delete([entry.job_id])  # as a requeue does; dying again is a new dead-lettering
    dlq.add(entry, counts=spec)
    assert [count for _, count in counters.read_counters(fake_redis, KEYS)["dead_lettered"]] == [2]


def test_an_entry_the_reconciler_closes_as_requeued_is_counted_as_a_requeue_once(fake_redis):
    from failure_handlers import DeadLetterQueue
    from tests.factories import dead_entry

    dlq = DeadLetterQueue(fake_redis, PREFIX, 3600)
    entry = dead_entry()
    dlq.add(entry, counts=counters.spec(100, 2000, counters.failure_increments(entry.queue, "f", "E", "permanent")))
    stranger = dead_entry("job-of-an-unseen-queue", queue="never-counted")
    dlq.add(stranger)  # no counters: its queue was never admitted as a label value

    assert dlq.delete([entry.job_id, stranger.job_id], outcome="requeued", by="reconciler") == 2
    assert dlq.delete([entry.job_id], outcome="requeued", by="reconciler") == 0  # already gone: not counted again
    dlq.add(dead_entry("deleted-by-an-operator"))
    dlq.delete(["deleted-by-an-operator"])  # outcome "deleted": not a requeue
    assert counters.read_counters(fake_redis, KEYS)["requeued"] == [((entry.queue,), 1), (("other",), 1)]


def test_the_failure_spec_is_cached_per_labels_and_caps_and_equal_to_the_uncached_one():
    counters._cached_failure_spec.cache_clear()
    built = counters.spec(100, 2000, counters.failure_increments("billing", "app.charge", "KeyError", "permanent"))
    assert counters.failure_spec(100, 2000, "billing", "app.charge", "KeyError", "permanent") == built
    assert counters.failure_spec(100, 2000, "billing", "app.charge", "KeyError", "permanent") == built
    assert counters._cached_failure_spec.cache_info().hits == 1
    other_caps = counters.failure_spec(5, 7, "billing", "app.charge", "KeyError", "permanent")
    assert other_caps == counters.spec(
        5, 7, counters.failure_increments("billing", "app.charge", "KeyError", "permanent")
    )
    assert other_caps != built
    retried = counters.failure_spec(100, 2000, "billing", "app.charge", "KeyError", None)
    assert retried == counters.spec(100, 2000, counters.failure_increments("billing", "app.charge", "KeyError", None))
    with pytest.raises(ValueError):
        counters.failure_spec(100, 2000, "billing", "app.charge", "KeyError", "because")


def test_a_label_longer_than_a_label_can_be_is_not_kept_in_the_cache():
    counters._cached_failure_spec.cache_clear()
    huge = "f" * 100_000
    spec = counters.failure_spec(100, 2000, "q", huge, "E", None)
    assert spec == counters.spec(100, 2000, counters.failure_increments("q", huge, "E", None))
    assert counters._cached_failure_spec.cache_info().currsize == 0


def test_the_handlers_counter_spec_follows_a_change_of_the_metrics_settings(fake_redis, monkeypatch):
    from failure_handlers import handler, runtime

    job = Queue("billing", connection=fake_redis).enqueue(always_fails)
    first = handler._counter_spec(job, "KeyError", "permanent")
    metrics = runtime.settings().metrics
    assert (json_cap(first), json_series(first)) == (metrics.max_label_values, metrics.max_series) != (7, 9)
    monkeypatch.setenv("METRICS_MAX_LABEL_VALUES", "7")
    monkeypatch.setenv("METRICS_MAX_SERIES", "9")
    runtime.settings.cache_clear()
    second = handler._counter_spec(job, "KeyError", "permanent")
    assert (json_cap(second), json_series(second)) == (7, 9)
    assert second.split("\n")[0] == first.split("\n")[0]  # the same increments, other caps


def json_cap(spec):
    return json.loads(spec.split("\n", 1)[1])["cap"]


def json_series(spec):
    return json.loads(spec.split("\n", 1)[1])["series"]
