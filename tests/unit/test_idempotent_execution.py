"""`@idempotent` inside a real RQ worker loop (in-process SimpleWorker on fakeredis + lupa)."""

from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker
from rq.job import JobStatus

from failure_handlers.idempotency import IdempotencyStore
from failure_handlers.idempotency.requeue_check import already_processed
from failure_handlers.storage.keys import META_IDEMPOTENCY_FORCE, DlqKeys
from tests.idempotency_tasks import EFFECTS, build_report, charge_invoice
from worker_tasks import enqueue

PREFIX = "test:dlq:"
FUNC = "tests.idempotency_tasks.charge_invoice"


def run(connection, *args, **options):
    job = enqueue(charge_invoice, *args, connection=connection, retry=None, **options)
    SimpleWorker([Queue("default", connection=connection)], connection=connection).work(burst=True)
    job.refresh()
    return job


def runs(connection, key):
    return int(connection.get(EFFECTS + key) or 0)


def test_a_second_job_with_a_done_key_returns_the_stored_result_without_running(fake_redis, log_messages):
    first = run(fake_redis, "42", 100)
    second = run(fake_redis, "42", 100)
    assert first.get_status() == second.get_status() == JobStatus.FINISHED
    assert second.return_value() == first.return_value() == {"invoice": "42", "charged": 100, "run": 1}
    assert runs(fake_redis, "invoice:42") == 1
    assert any("already processed" in m and "'invoice:42'" in m and first.id in m for m in log_messages)


def test_another_key_runs(fake_redis):
    run(fake_redis, "42", 100)
    run(fake_redis, "43", 100)
    assert runs(fake_redis, "invoice:43") == 1


def test_a_failed_run_does_not_mark_the_key_done_and_releases_its_lock(fake_redis):
    failed = run(fake_redis, "42", 100, True)
    assert failed.get_status() == JobStatus.FAILED
    keys = DlqKeys(PREFIX)
    assert not fake_redis.exists(keys.idempotency_done(FUNC, "invoice:42"), keys.idempotency_lock(FUNC, "invoice:42"))
    assert run(fake_redis, "42", 100).return_value()["run"] == 2  # the failed run counted before raising


def test_a_key_locked_by_another_run_fails_retryably_with_the_time_left(fake_redis):
    IdempotencyStore(fake_redis, PREFIX).begin(FUNC, "invoice:42", "other-job", lock_seconds=30)
    job = run(fake_redis, "42", 100)
    assert job.get_status() == JobStatus.FAILED
    assert "IdempotencyKeyBusy" in job.latest_result().exc_string
    assert runs(fake_redis, "invoice:42") == 0


def test_the_lock_lasts_the_job_timeout_plus_a_margin(fake_redis):
    store = IdempotencyStore(fake_redis, PREFIX)
    store.begin(FUNC, "invoice:1", "job-a", lock_seconds=40)
    assert 39_000 < fake_redis.pttl(DlqKeys(PREFIX).idempotency_lock(FUNC, "invoice:1")) <= 40_000
    assert store.begin(FUNC, "invoice:1", "job-b", lock_seconds=40).outcome == "busy"
    assert store.begin(FUNC, "invoice:1", "job-a", lock_seconds=40).outcome == "run"  # the same job, re-run


def test_a_result_json_cannot_hold_is_not_stored_but_the_key_is_done(fake_redis, log_messages):
    enqueue(build_report, "weekly", connection=fake_redis, retry=None)
    enqueue(build_report, "weekly", connection=fake_redis, retry=None)
    SimpleWorker([Queue("default", connection=fake_redis)], connection=fake_redis).work(burst=True)
    assert runs(fake_redis, "report:weekly") == 1
    assert any("not JSON-serialisable" in m for m in log_messages)


def test_a_forced_job_runs_its_body_again(fake_redis):
    run(fake_redis, "42", 100)
    forced = run(fake_redis, "42", 100, meta={META_IDEMPOTENCY_FORCE: True})
    assert forced.return_value()["run"] == 2


def test_the_requeue_check_finds_failed_jobs_whose_key_was_done_since(fake_redis):
    failed = run(fake_redis, "42", 100, True)
    other = run(fake_redis, "43", 100, True)
    run(fake_redis, "42", 100)
    found = already_processed(fake_redis, PREFIX, [failed, other], "pickle")
    assert list(found) == [failed.id]
    assert found[failed.id].startswith("already processed: idempotency key 'invoice:42'")


@pytest.mark.parametrize("serializer", ["json", "custom.Serializer"])
def test_the_requeue_check_never_decodes_what_it_cannot_decode_safely(fake_redis, serializer):
    failed = run(fake_redis, "42", 100, True)
    run(fake_redis, "42", 100)
    assert already_processed(fake_redis, PREFIX, [failed], serializer) == {}
