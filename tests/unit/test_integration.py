"""`RetryingQueue` and the worker exception handler, in-process (SimpleWorker on fakeredis)."""

from __future__ import annotations

import pytest
from rq import Queue, Retry, SimpleWorker

from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.handler import on_failure
from failure_handlers.integration import NO_RETRY, RetryingQueue, record_failure, task
from failure_handlers.retry.policy import attempt_of


def boom(n):
    raise ConnectionError(f"down {n}")


@task(retry_max=1, retry_intervals=[0], job_timeout=9)
def tuned(n):
    raise ConnectionError(f"down {n}")


def run(queue: Queue, *handlers) -> None:
    SimpleWorker([queue], connection=queue.connection, exception_handlers=list(handlers) or None).work(burst=True)


@pytest.fixture
def dlq(fake_redis):
    return DeadLetterQueue(fake_redis, "test:dlq:", 3600)


def test_retrying_queue_fills_in_the_configured_policy(fake_redis, monkeypatch):
    monkeypatch.setenv("RETRY_INTERVALS", "30,60,120")
    job = RetryingQueue("q", connection=fake_redis).enqueue(boom, 1)
    assert job.retries_left == 3 and job.retry_intervals == [30, 60, 120] and job.timeout == 30
    assert job.failure_callback is on_failure and job.meta["max_retries"] == 3


def test_what_the_call_site_passes_wins(fake_redis):
    callback_free = RetryingQueue("q", connection=fake_redis).enqueue(
        boom, 1, retry=Retry(max=1, interval=5), job_timeout=4, meta={"tenant": "a"}, description="mine"
    )
    assert callback_free.retries_left == 1 and callback_free.retry_intervals == [5] and callback_free.timeout == 4
    assert callback_free.meta == {
        "tenant": "a",
        "max_retries": 1,
        "retry_delays": [5],
        "retry_jitter": "none",
        "retry_backoff": "fixed",
    }
    assert callback_free.description == "mine"


def test_no_retry_sentinel_and_task_options(fake_redis):
    queue = RetryingQueue("q", connection=fake_redis)
    assert queue.enqueue(boom, 1, retry=NO_RETRY).retries_left is None
    job = queue.enqueue(tuned, 1)
    assert job.retries_left == 1 and job.timeout == 9


def test_a_queues_own_default_timeout_beats_job_timeout_but_not_the_task_or_the_call_site(fake_redis):
    """django-rq gives its queues `default_timeout=` (RQ_QUEUES' DEFAULT_TIMEOUT): that is the jobs' timeout."""
    queue = RetryingQueue("slow", connection=fake_redis, default_timeout=600)
    assert queue.enqueue(boom, 1).timeout == 600
    assert queue.enqueue(tuned, 1).timeout == 9 and queue.enqueue(boom, 1, job_timeout=4).timeout == 4
    assert RetryingQueue("plain", connection=fake_redis).enqueue(boom, 1).timeout == 30  # JOB_TIMEOUT


def test_description_redacts_secret_keyword_values(fake_redis):
    job = RetryingQueue("q", connection=fake_redis).enqueue(boom, n=1, api_key="s3cret")
    assert "s3cret" not in job.description and "***" in job.description


def test_enqueue_many_and_enqueue_in_go_through_the_policy(fake_redis):
    queue = RetryingQueue("q", connection=fake_redis)
    [job] = queue.enqueue_many([Queue.prepare_data(boom, (1,))])
    assert job.retries_left == 3 and job.failure_callback is on_failure
    assert queue.enqueue_in(__import__("datetime").timedelta(seconds=60), boom, 2).retries_left == 3


def test_exception_handler_records_every_attempt_of_a_plain_job(fake_redis, dlq):
    queue = Queue("q", connection=fake_redis)
    job = queue.enqueue(boom, 1, retry=Retry(max=2))
    run(queue, record_failure)
    job.refresh()
    assert [f["attempt"] for f in job.meta["failures"]] == [1, 2, 3]
    assert dlq.get(job.id).attempts == 3 and dlq.get(job.id).max_retries == 2


def test_exception_handler_skips_jobs_that_have_our_callback(fake_redis, dlq):
    queue = RetryingQueue("q", connection=fake_redis)
    job = queue.enqueue(boom, 1, retry=Retry(max=1))
    run(queue, record_failure)
    job.refresh()
    assert [f["attempt"] for f in job.meta["failures"]] == [1, 2]


def test_exception_handler_never_breaks_the_chain(fake_redis, monkeypatch):
    seen = []
    monkeypatch.setattr("failure_handlers.integration.worker.handle_failure", lambda *a: 1 / 0)
    queue = Queue("q", connection=fake_redis)
    queue.enqueue(boom, 1)
    run(queue, record_failure, lambda job, *exc: seen.append(job.id))
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("max_retries", "left", "earlier", "expected"),
    [
        (3, 3, 0, (1, 4)),
        (3, 0, 3, (4, 4)),
        (None, 2, 0, (1, 3)),  # a plain job's first failure: budget from what is left
        (None, 1, 1, (2, 3)),
        (None, 0, 2, (3, 3)),
        (None, None, 0, (1, 1)),  # no Retry at all
    ],
)
def test_attempt_of_a_job_enqueued_without_our_budget(max_retries, left, earlier, expected):
    attempt = attempt_of(max_retries, left, earlier)
    assert (attempt.number, attempt.total) == expected
