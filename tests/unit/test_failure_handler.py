"""The failure handler inside a real RQ worker loop (in-process SimpleWorker on fakeredis).

Retries use interval 0 here so no scheduler is needed; the integration tests cover intervals.
"""

import pytest
import requests
from rq import Queue, Retry, SimpleWorker
from rq.job import JobStatus
from rq.registry import FailedJobRegistry

from failure_handlers import DeadLetterQueue, PermanentError, handler
from failure_handlers.dlq.entry import MAX_RECORDED_FAILURES
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import Written
from failure_handlers.sentinel_connection import primary_moved
from worker_tasks import enqueue

IMMEDIATE_RETRIES = Retry(max=3, interval=0)


def always_fails():
    raise ConnectionError("upstream down")


def fails_with_status(status):
    response = requests.Response()
    response.status_code = status
    raise requests.HTTPError(f"{status} for url", response=response)


def raises_value_error():
    raise ValueError("bad amount")


def raises_permanent():
    raise PermanentError("cannot ever work")


def fails_twice_then_succeeds():
    from rq import get_current_job

    if len(get_current_job().meta.get("failures", [])) < 2:
        raise TimeoutError("slow upstream")
    return "ok"


@pytest.fixture
def queue(fake_redis):
    return Queue("unit", connection=fake_redis)


@pytest.fixture
def dlq(fake_redis):
    return DeadLetterQueue(fake_redis, "test:dlq:", 3600)


def run(queue, func, *args, retry=IMMEDIATE_RETRIES, **kwargs):
    job = enqueue(func, *args, queue=queue.name, connection=queue.connection, retry=retry, **kwargs)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    return job


def test_every_attempt_is_recorded_and_the_final_one_dead_lettered(queue, dlq):
    job = run(queue, always_fails)
    assert job.get_status() == JobStatus.FAILED
    failures = job.meta["failures"]
    assert [f["attempt"] for f in failures] == [1, 2, 3, 4]
    assert all(f["exc_type"] == "ConnectionError" and f["message"] == "upstream down" for f in failures)
    assert all("Traceback" in f["traceback"] and f["failed_at"].endswith("Z") and f["worker"] for f in failures)
    assert job.id in FailedJobRegistry("unit", connection=queue.connection)
    entry = dlq.get(job.id)
    assert entry.attempts == 4 and entry.max_retries == 3 and entry.reason == "retries exhausted"
    assert entry.func_name.endswith("always_fails") and entry.queue == "unit"
    assert "ConnectionError: upstream down" in entry.traceback
    assert len(entry.attempt_history()) == 4 and dlq.count() == 1


def test_success_after_transient_failures_leaves_no_dlq_entry(queue, dlq):
    job = run(queue, fails_twice_then_succeeds)
    assert job.get_status() == JobStatus.FINISHED
    assert len(job.meta["failures"]) == 2
    assert dlq.count() == 0


def test_permanent_error_skips_remaining_retries(queue, dlq):
    job = run(queue, raises_permanent)
    assert job.get_status() == JobStatus.FAILED
    assert len(job.meta["failures"]) == 1
    entry = dlq.get(job.id)
    assert entry.attempts == 1 and entry.reason.startswith("permanent")


@pytest.mark.parametrize(("status", "runs"), [(404, 1), (400, 1), (429, 4), (503, 4)])
def test_http_status_decides_retries(queue, dlq, status, runs):
    job = run(queue, fails_with_status, status)
    assert len(job.meta["failures"]) == runs
    assert dlq.get(job.id).attempts == runs


def test_non_retryable_exceptions_from_config(queue, dlq, monkeypatch):
    monkeypatch.setenv("NON_RETRYABLE_EXCEPTIONS", "ValueError")
    job = run(queue, raises_value_error)
    assert len(job.meta["failures"]) == 1 and "NON_RETRYABLE_EXCEPTIONS" in dlq.get(job.id).reason


def test_job_without_retry_is_dead_lettered_after_one_run(queue, dlq):
    job = run(queue, always_fails, retry=None)
    assert dlq.get(job.id).attempts == 1
    assert dlq.get(job.id).reason == "no retries configured"


def test_log_lines_name_attempt_delay_and_dlq(queue, log_messages):
    job = run(queue, always_fails, retry=Retry(max=1, interval=0))
    assert (
        f"WARNING Job {job.id} failed (attempt 1/2), will retry in 0s [planned 0s; schedule 0s]: "
        "ConnectionError: upstream down" in log_messages
    )
    assert f"ERROR Job {job.id} failed after 2 attempts, moved to DLQ: ConnectionError: upstream down" in log_messages


def test_secret_kwargs_are_redacted_in_the_dlq(queue, dlq):
    job = run(queue, fails_with_status, status=404, api_key="sk-live-123")
    assert "sk-live-123" not in dlq.get(job.id).kwargs
    assert '"api_key": "***"' in dlq.get(job.id).kwargs


def test_handler_error_is_swallowed_and_the_job_keeps_its_own_traceback(queue, fake_redis, log_messages):
    fake_redis.set("test:dlq:index", "not a sorted set")  # the DLQ write will fail with WRONGTYPE
    job = run(queue, raises_permanent)
    assert job.get_status() == JobStatus.FAILED
    exc_string = job.latest_result().exc_string
    assert "PermanentError: cannot ever work" in exc_string and "WRONGTYPE" not in exc_string
    assert any(m.startswith("ERROR Failure handler could not write the DLQ entry") for m in log_messages)
    assert len(job.meta["failures"]) == 1  # the other steps still ran


def test_meta_history_is_bounded(queue):
    job = run(queue, always_fails, retry=Retry(max=MAX_RECORDED_FAILURES + 5, interval=0))
    assert len(job.meta["failures"]) == MAX_RECORDED_FAILURES
    assert job.meta["failures_dropped"] == 6
    assert job.meta["failures"][-1]["attempt"] == MAX_RECORDED_FAILURES + 6


@pytest.mark.parametrize(("moved", "writes"), [(True, 2), (False, 1)], ids=["primary-moved", "same-primary"])
def test_a_dlq_write_short_of_replicas_is_written_again_only_when_the_sentinels_name_another_primary(
    queue, dlq, monkeypatch, log_messages, moved, writes
):
    written: list[str] = []
    add_replicated = DeadLetterQueue.add_replicated

    def first_one_short(self, entry, meta=None, counts=""):
        result = add_replicated(self, entry, meta, counts)
        written.append(entry.job_id)
        return Written(result.dropped, 0, 1) if len(written) == 1 else result  # no replica acknowledged the first

    monkeypatch.setattr(DeadLetterQueue, "add_replicated", first_one_short)
    monkeypatch.setattr(handler, "primary_moved", lambda connection: moved)
    job = run(queue, raises_permanent)
    assert written == [job.id] * writes
    assert dlq.get(job.id).exc_type.endswith("PermanentError")
    warnings = [message for message in log_messages if message.startswith("WARNING")]
    if moved:
        assert len(warnings) == 1 and "written again to the new primary" in warnings[0], warnings
    else:
        assert len(warnings) == 1 and "0 of 1 replicas acknowledged" in warnings[0], warnings


def test_a_plain_connection_never_has_a_primary_that_moved(fake_redis):
    assert primary_moved(fake_redis) is False


def test_one_dlq_per_connection_and_settings_is_reused_and_another_connection_gets_its_own(fake_redis, monkeypatch):
    import fakeredis

    from failure_handlers import runtime

    settings = runtime.settings()
    first = handler.dead_letter_queue(fake_redis, settings)
    assert handler.dead_letter_queue(fake_redis, settings) is first
    other = fakeredis.FakeRedis()
    second = handler.dead_letter_queue(other, settings)
    assert second is not first and second.connection is other
    again = handler.dead_letter_queue(fake_redis, settings)
    assert again is not second and again.connection is fake_redis  # nothing of the other connection's kept
    monkeypatch.setenv("DLQ_PREFIX", "moved:dlq:")
    monkeypatch.setenv("DLQ_MAX_ENTRIES", "12")
    runtime.settings.cache_clear()
    changed = handler.dead_letter_queue(fake_redis, runtime.settings())
    assert changed is not again and (changed.keys.prefix, changed.max_entries) == ("moved:dlq:", 12)
    current = runtime.settings()
    runtime.settings.cache_clear()
    reloaded = runtime.settings()  # equal settings, another object
    assert reloaded is not current and handler.dead_letter_queue(fake_redis, reloaded) is changed


def test_final_failures_on_two_connections_are_each_written_on_their_own():
    import fakeredis

    one, two = fakeredis.FakeRedis(), fakeredis.FakeRedis()
    jobs = {}
    for connection in (one, two, one):
        job = run(Queue("unit", connection=connection), raises_permanent)
        jobs.setdefault(connection, []).append(job.id)
    for connection, ids in jobs.items():
        dlq = DeadLetterQueue(connection, "test:dlq:", 3600)
        assert sorted(dlq.select_ids(DlqFilter())) == sorted(ids)


def test_a_dlq_builds_its_claims_and_search_index_on_first_use(fake_redis):
    dlq = DeadLetterQueue(fake_redis, "test:dlq:", 3600, archive_maxlen=50)
    assert "claims" not in vars(dlq) and "search_index" not in vars(dlq)
    claims = dlq.claims
    assert dlq.claims is claims and (claims.connection, claims.keys, claims.ttl_seconds) == (fake_redis, dlq.keys, 3600)
    assert claims.archive_maxlen == 50 and dlq.search_index is dlq.search_index
    assert dlq.search_index.connection is fake_redis
