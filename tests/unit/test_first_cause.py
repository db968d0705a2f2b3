"""A job recorded again keeps its first real cause: the pure decision, and the DLQ's compare-and-set
write of it (fakeredis + lupa: the real Lua script)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from failure_handlers.dlq import first_cause
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.first_cause import event_line, is_synthetic, merge_entries
from failure_handlers.dlq.store import DeadLetterQueue
from tests.factories import dead_entry

PREFIX = "t:dlq:"
REAL_AT = "2026-11-29T01:00:00.000Z"
LATER = "2026-11-29T01:02:00.000Z"


def run(attempt, exc_type, failed_at, worker="worker-1", message="m"):
    return {"attempt": attempt, "exc_type": exc_type, "message": message, "failed_at": failed_at, "worker": worker}


def real(**fields):
    """What our handler wrote: the job's own RuntimeError, final run 1 of a job without retries."""
    entry = dead_entry(
        "job",
        exc_type="RuntimeError",
        exc_message="ledger out of balance",
        traceback='Traceback (most recent call last):\n  File "tasks.py", line 3\nRuntimeError: ledger out of balance',
        failed_at=REAL_AT,
        attempts=1,
        max_retries=0,
        reason="no retries configured",
        fingerprint="aaaaaaaaaaaa",
        failures=json.dumps([run(1, "RuntimeError", REAL_AT, message="ledger out of balance")]),
    )
    return replace(entry, **fields)


def abandoned(**fields):
    """What RQ's abandoned-job cleanup makes our handler write after the worker died: same run, bare cause."""
    history = [run(1, "RuntimeError", REAL_AT, message="ledger out of balance"), run(1, first_cause.ABANDONED, LATER)]
    entry = dead_entry(
        "job",
        exc_type=first_cause.ABANDONED,
        exc_message="abandoned: its worker stopped sending heartbeats while running it (worker killed or lost)",
        traceback="",
        failed_at=LATER,
        worker="reconciler",
        attempts=1,
        max_retries=0,
        reason="no retries configured",
        fingerprint="bbbbbbbbbbbb",
        failures=json.dumps(history),
    )
    return replace(entry, **fields)


@pytest.mark.parametrize(
    ("exc_type", "synthetic"),
    [
        ("rq.exceptions.AbandonedJobError", True),
        ("AbandonedJobError", True),
        ("WorkHorseKilled", True),
        ("JobStopped", True),
        ("JobStuckInIntermediateQueue", True),
        ("UnknownFailure", True),
        ("UnknownError", True),
        ("RuntimeError", False),
        ("rq.timeouts.JobTimeoutException", False),
        ("requests.exceptions.ConnectionError", False),
    ],
)
def test_synthetic_causes_are_what_happened_to_the_worker(exc_type, synthetic):
    assert is_synthetic(exc_type) is synthetic


def test_a_real_cause_stays_when_an_abandonment_is_recorded_after_it():
    merged = merge_entries(real(), abandoned())
    assert (merged.exc_type, merged.exc_message) == ("RuntimeError", "ledger out of balance")
    assert "RuntimeError: ledger out of balance" in merged.traceback
    assert (merged.failed_at, merged.fingerprint, merged.reason) == (REAL_AT, "aaaaaaaaaaaa", "no retries configured")


def test_the_later_abandonment_is_appended_as_an_event_not_as_a_run():
    merged = merge_entries(real(), abandoned())
    [event] = json.loads(merged.events)
    assert (event["when"], event["exc_type"], event["at"]) == ("then", first_cause.ABANDONED, LATER)
    assert [item["exc_type"] for item in merged.attempt_history()] == ["RuntimeError"]
    assert (merged.attempts, merged.duplicated_runs) == (1, 0)
    assert event_line(event).startswith(f"then: {first_cause.ABANDONED} (no retries configured) at {LATER}")


def test_a_real_cause_replaces_a_synthetic_one_recorded_first():
    merged = merge_entries(abandoned(failures=json.dumps([run(1, first_cause.ABANDONED, LATER)])), real())
    assert (merged.exc_type, merged.failed_at, merged.fingerprint) == ("RuntimeError", REAL_AT, "aaaaaaaaaaaa")
    [event] = json.loads(merged.events)
    assert (event["when"], event["exc_type"]) == ("first recorded as", first_cause.ABANDONED)


def test_between_two_real_causes_the_first_wins():
    second = real(exc_type="ValueError", exc_message="other", failed_at=LATER, worker="worker-2",
                  failures=json.dumps([run(1, "ValueError", LATER, "worker-2")]))  # fmt: skip
    merged = merge_entries(real(), second)
    assert (merged.exc_type, merged.exc_message, merged.worker) == ("RuntimeError", "ledger out of balance", "worker-1")
    assert json.loads(merged.events)[0]["exc_type"] == "ValueError"


def test_between_two_synthetic_causes_the_first_wins():
    killed = abandoned(exc_type=first_cause.WORK_HORSE_KILLED, failed_at=REAL_AT, failures="[]")
    merged = merge_entries(killed, abandoned())
    assert merged.exc_type == first_cause.WORK_HORSE_KILLED


def test_a_job_that_ran_twice_shows_two_runs_and_says_one_was_duplicated():
    """Split-brain after a failover: two workers each ran attempt 1 and each recorded it."""
    second = real(failed_at=LATER, worker="worker-2", failures=json.dumps([run(1, "RuntimeError", LATER, "worker-2")]))
    merged = merge_entries(real(), second)
    runs = merged.attempt_history()
    assert [(item["run"], item["attempt"], item["worker"]) for item in runs] == [(1, 1, "worker-1"), (2, 1, "worker-2")]
    assert (merged.attempts, merged.duplicated_runs) == (2, 1)


def test_merging_the_same_record_twice_changes_nothing_more():
    once = merge_entries(real(), abandoned())
    twice = merge_entries(once, abandoned())
    assert (twice.events, twice.failures, twice.duplicated_runs) == (once.events, once.failures, 0)


def test_the_newest_job_fields_are_kept():
    merged = merge_entries(real(), abandoned(job_snapshot="snap", args='["new"]'))
    assert (merged.job_snapshot, merged.args) == ("snap", '["new"]')


# -- the write: compare-and-set in add.lua ----------------------------------------------------


@pytest.fixture
def dlq(fake_redis):
    return DeadLetterQueue(fake_redis, PREFIX, 10**9)


def test_the_dlq_keeps_the_real_cause_when_the_abandonment_is_added_after_it(dlq):
    dlq.add(real())
    dlq.add(abandoned())
    entry = dlq.get("job")
    assert (entry.exc_type, entry.exc_message) == ("RuntimeError", "ledger out of balance")
    assert json.loads(entry.events)[0]["exc_type"] == first_cause.ABANDONED
    assert dlq.count() == 1 and dlq.select_ids(DlqFilter(exc="RuntimeError")) == ["job"]
    assert dlq.select_ids(DlqFilter(exc=first_cause.ABANDONED)) == []


def test_the_reconcilers_guarded_write_merges_too(dlq, fake_redis):
    registry = "rq:registry:failed:default"
    fake_redis.zadd(registry, {"job": 1})
    dlq.add(real())
    [result] = dlq.add_many([abandoned(exc_type=first_cause.WORK_HORSE_KILLED)], only_if_in=[registry])
    assert result == 0 and dlq.get("job").exc_type == "RuntimeError"


def test_every_write_bumps_the_revision(dlq, fake_redis):
    """A first write stores no `revision` (it reads as 0, one hash field less per dead-lettering);
    every later write stores the one it replaced + 1."""
    dlq.add(real())
    assert fake_redis.hget(f"{PREFIX}entry:job", "revision") is None
    dlq.add(abandoned())
    assert fake_redis.hget(f"{PREFIX}entry:job", "revision") == b"1"


def test_an_entry_written_with_revision_1_on_its_first_write_is_merged_as_before(dlq, fake_redis):
    """Entries written before first writes left `revision` out carry revision 1: compared as stored."""
    dlq.add(real())
    fake_redis.hset(f"{PREFIX}entry:job", "revision", "1")
    dlq.add(abandoned())
    assert fake_redis.hget(f"{PREFIX}entry:job", "revision") == b"2"
    assert dlq.get("job").exc_type == "RuntimeError"


def test_a_write_made_from_a_stale_read_is_refused_and_merged_again(dlq, fake_redis, monkeypatch):
    """Another writer changes the entry between our read and our write: nothing of theirs is lost."""
    dlq.add(real())
    original = DeadLetterEntry.from_hash
    raced = []

    def read_then_race(raw):
        if not raced:  # the concurrent writer: the reconciler records the killed work-horse
            raced.append(True)
            dlq.add(abandoned(exc_type=first_cause.WORK_HORSE_KILLED, failed_at="2026-11-29T01:01:00.000Z"))
        return original(raw)

    monkeypatch.setattr(DeadLetterEntry, "from_hash", staticmethod(read_then_race))
    dlq.add(abandoned())
    monkeypatch.undo()
    entry = dlq.get("job")
    kinds = [event["exc_type"] for event in json.loads(entry.events)]
    assert entry.exc_type == "RuntimeError" and kinds == [first_cause.WORK_HORSE_KILLED, first_cause.ABANDONED]
    assert fake_redis.hget(f"{PREFIX}entry:job", "revision") == b"2"


def test_an_entry_written_in_the_format_before_first_cause_still_reads_and_merges(dlq, fake_redis):
    """A hash as the previous release wrote it: no `events`, `duplicated_runs` nor `revision` field."""
    legacy = {name: value for name, value in real().to_hash().items() if name not in ("events", "duplicated_runs")}
    fake_redis.hset(f"{PREFIX}entry:job", mapping=legacy)
    fake_redis.zadd(f"{PREFIX}index", {"job": real().failed_at_epoch})
    entry = dlq.get("job")
    assert (entry.events, entry.duplicated_runs, entry.exc_type) == ("[]", 0, "RuntimeError")
    assert entry.as_json()["events"] == []
    dlq.add(abandoned())
    assert dlq.get("job").exc_type == "RuntimeError"
    assert fake_redis.hget(f"{PREFIX}entry:job", "revision") == b"1"


def test_the_same_abandonment_recorded_by_the_callback_and_the_exception_handler_is_one_event():
    """RQ's cleanup runs a job's callback and then the exception handlers: two records of one event."""
    once = merge_entries(real(), abandoned())
    meta_then = [
        *once.attempt_history(),
        run(1, first_cause.ABANDONED, LATER),
        run(1, first_cause.ABANDONED, "2026-11-29T01:02:00.002Z"),
    ]
    twice = merge_entries(once, abandoned(failed_at="2026-11-29T01:02:00.002Z", failures=json.dumps(meta_then)))
    assert len(twice.event_history()) == 1
    assert [item["exc_type"] for item in twice.attempt_history()] == ["RuntimeError"]


def test_an_abandoned_run_before_a_real_retry_stays_a_run():
    """Attempt 1 abandoned (its worker died mid-run), retried, attempt 2 raised: two runs, no duplicate."""
    history = [run(1, first_cause.ABANDONED, REAL_AT), run(2, "RuntimeError", LATER)]
    stored = real(failed_at=LATER, attempts=2, max_retries=1, failures=json.dumps(history))
    merged = merge_entries(
        stored, abandoned(failed_at="2026-11-29T01:03:00.000Z", attempts=2, failures=json.dumps(history))
    )
    assert [item["attempt"] for item in merged.attempt_history()] == [1, 2] and merged.duplicated_runs == 0


def test_a_merge_keeps_the_run_numbers_the_records_were_given():
    """Numbered when recorded (dlq/runs.py), after 25 dropped records: not renumbered from 1."""
    history = [{**run(1, "RuntimeError", REAL_AT, message="ledger out of balance"), "run": 26}]
    incoming = abandoned(failures=json.dumps([*history, {**run(1, first_cause.ABANDONED, LATER), "run": 26}]))
    merged = merge_entries(real(failures=json.dumps(history)), incoming)
    assert [(item["run"], item["attempt"]) for item in merged.attempt_history()] == [(26, 1)]
    assert merged.duplicated_runs == 0


def test_attempt_1_after_a_requeue_is_not_a_duplicated_run_in_a_merge():
    first = {**run(1, "RuntimeError", REAL_AT), "run": 1}
    after_requeue = {**run(1, "RuntimeError", LATER), "run": 2, "requeues": 1}
    merged = merge_entries(
        real(failures=json.dumps([first])), real(failed_at=LATER, failures=json.dumps([first, after_requeue]))
    )
    assert [item["run"] for item in merged.attempt_history()] == [1, 2] and merged.duplicated_runs == 0
    assert not any(item.get("duplicate") for item in merged.attempt_history())
