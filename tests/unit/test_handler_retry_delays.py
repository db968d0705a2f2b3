"""The failure handler's retry delays and rules on fakeredis: what it hands RQ (job.retry_intervals),
what it records, and that it always starts from the original schedule."""

import sys

import pytest
import requests
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from failure_handlers import DeadLetterQueue, runtime
from failure_handlers.errors import RetryAfter
from failure_handlers.handler import on_failure
from failure_handlers.retry.plan import PlannedRetry
from worker_tasks import enqueue


def fails():
    raise ConnectionError("upstream down")


def rejects():
    raise ConnectionError("upstream said: validation error in field amount")


def rate_limited():
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = "7"
    raise requests.HTTPError("429 Too Many Requests", response=response)


def asks_later():
    raise RetryAfter(42, "the ledger is closing")


def use_env(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.settings.cache_clear()


def fail_once(job: Job, connection, func=fails) -> None:
    """One failed run as the worker reports it: the handler, with the job's retries_left as RQ has it."""
    try:
        func()
    except Exception:  # noqa: BLE001
        exc_info = sys.exc_info()
    on_failure(job, connection, *exc_info)


def test_exponential_plan_and_no_jitter_keeps_the_planned_delays(fake_redis, monkeypatch):
    use_env(monkeypatch, RETRY_BACKOFF="exponential", RETRY_BACKOFF_BASE="1", RETRY_MAX="4")
    job = enqueue(fails, connection=fake_redis)
    seen = []
    for left in (4, 3, 2, 1):
        job.retries_left = left
        fail_once(job, fake_redis)
        seen.append(job.meta["failures"][-1]["retry_in"])
    assert seen == [1, 2, 4, 8] and job.meta["retry_delays"] == [1, 2, 4, 8]


def test_jitter_is_applied_from_the_original_schedule_every_time(fake_redis, monkeypatch):
    use_env(monkeypatch, RETRY_MAX="3", RETRY_INTERVALS="100,200,400", RETRY_JITTER="equal")
    job = enqueue(fails, connection=fake_redis)
    for left, planned in ((3, 100), (2, 200), (1, 400)):
        job.retries_left = left
        fail_once(job, fake_redis)
        record = job.meta["failures"][-1]
        index = 3 - left
        assert (
            planned / 2 <= record["retry_in"] <= planned and record["retry_note"] == f"planned {planned}s, equal jitter"
        )
        assert job.retry_intervals[index] == record["retry_in"]  # what RQ's job.retry() reads next
        assert job.retry_intervals[index + 1 :] == [200, 400][index:]  # later slots keep the plan
    assert job.meta["retry_delays"] == [100, 200, 400]


def test_job_enqueued_by_plain_rq_gets_its_schedule_kept_in_meta(fake_redis, monkeypatch):
    use_env(monkeypatch, RETRY_JITTER="full")
    job = Queue("plain", connection=fake_redis).enqueue(fails, retry=PlannedRetry(max=2, intervals=[50, 60]))
    job.meta.clear()
    job.retries_left = 2
    fail_once(job, fake_redis)
    assert job.meta["retry_delays"] == [50, 60] and 0 <= job.meta["failures"][-1]["retry_in"] <= 50
    job.retries_left = 1
    fail_once(job, fake_redis)  # planned from the kept schedule, not from the list changed above
    assert job.meta["failures"][-1]["retry_note"] == "planned 60s, full jitter"


def test_retry_after_header_sets_the_delay_without_jitter(fake_redis, monkeypatch, log_messages):
    use_env(monkeypatch, RETRY_JITTER="full", RETRY_INTERVALS="600")
    job = enqueue(rate_limited, connection=fake_redis)
    fail_once(job, fake_redis, rate_limited)
    record = job.meta["failures"][-1]
    assert record["retry_in"] == 7 and job.retry_intervals[0] == 7
    assert any("will retry in 7s [Retry-After of HTTP 429: 7s, no jitter; planned 600s" in m for m in log_messages)


def test_retry_after_raised_by_the_task_is_bounded(fake_redis, monkeypatch):
    use_env(monkeypatch, RETRY_AFTER_MAX="30")
    job = enqueue(asks_later, connection=fake_redis)
    fail_once(job, fake_redis, asks_later)
    assert job.meta["failures"][-1]["retry_in"] == 30 and job.retries_left == 3


def test_message_pattern_makes_the_failure_permanent_in_one_run(fake_redis, monkeypatch):
    use_env(monkeypatch, PERMANENT_MESSAGE_PATTERNS="validation error")
    queue = Queue("unit", connection=fake_redis)
    job = enqueue(rejects, queue="unit", connection=fake_redis)
    SimpleWorker([queue], connection=fake_redis).work(burst=True)
    entry = DeadLetterQueue(fake_redis, "test:dlq:", 3600).get(job.id)
    assert entry.attempts == 1
    assert entry.reason == "permanent: message matches PERMANENT_MESSAGE_PATTERNS 'validation error'"
    assert entry.retry_schedule == "1, 1, 1s (fixed; none jitter)"


def test_the_scheduled_time_is_the_jittered_delay(fake_redis, monkeypatch):
    use_env(monkeypatch, RETRY_MAX="1", RETRY_INTERVALS="1000", RETRY_JITTER="full")
    queue = Queue("unit", connection=fake_redis)
    job = enqueue(fails, queue="unit", connection=fake_redis)
    SimpleWorker([queue], connection=fake_redis).work(burst=True)
    job.refresh()
    delay = job.meta["failures"][-1]["retry_in"]
    scheduled = ScheduledJobRegistry(queue=queue).get_scheduled_time(job.id).timestamp()
    assert abs(scheduled - job.ended_at.timestamp() - delay) <= 2


def test_a_broken_jitter_in_meta_falls_back_to_the_configuration(fake_redis, monkeypatch):
    use_env(monkeypatch, RETRY_INTERVALS="10")
    job = enqueue(fails, connection=fake_redis, meta={"retry_jitter": 12})
    fail_once(job, fake_redis)
    assert job.meta["failures"][-1]["retry_in"] == 10


@pytest.mark.parametrize("stored", [["x"], "10,20", [-1], None])
def test_a_garbled_stored_schedule_is_replaced_by_rqs_intervals(fake_redis, monkeypatch, stored):
    job = enqueue(fails, connection=fake_redis, retry=PlannedRetry(max=1, intervals=[9]))
    job.meta["retry_delays"] = stored
    fail_once(job, fake_redis)
    assert job.meta["failures"][-1]["retry_in"] == 9
