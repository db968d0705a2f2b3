"""Jobs enqueued with plain RQ (no callback of ours) on a worker with the documented integration,
`rq worker ... --exception-handler failure_handlers.integration.record_failure` (the `worker`
fixture starts it as the Procfile does)."""

from __future__ import annotations

from rq import Callback, Queue, Retry
from rq.decorators import job as rq_job
from rq.job import Job, JobStatus

from failure_handlers.errors import PermanentError
from failure_handlers.handler import handle_failure
from failure_handlers.integration import RetryingQueue
from tests import plain_rq_tasks
from tests.polling import wait_for


def wait_status(job: Job, status: JobStatus, timeout: float = 30) -> None:
    wait_for(lambda: job.get_status(refresh=True) == status, timeout, f"job {job.id} {status.value}")


def test_plain_enqueue_gets_history_and_a_dlq_entry_with_every_run(redis, dlq, worker):
    worker("billing")
    job = Queue("billing", connection=redis).enqueue(plain_rq_tasks.charge, 7, retry=Retry(max=2, interval=1))
    wait_status(job, JobStatus.FAILED)

    assert [f["attempt"] for f in job.get_meta()["failures"]] == [1, 2, 3]
    entry = dlq.get(job.id)
    assert entry is not None
    assert entry.attempts == 3 and entry.max_retries == 2 and entry.reason == "retries exhausted"
    assert [item["attempt"] for item in entry.attempt_history()] == [1, 2, 3]
    assert entry.exc_type == "ConnectionError" and "customer 7" in entry.exc_message
    assert entry.queue == "billing" and entry.func_name == "tests.plain_rq_tasks.charge"


def test_permanent_error_in_a_plain_job_stops_its_retries(redis, dlq, worker):
    worker("billing")
    job = Queue("billing", connection=redis).enqueue(plain_rq_tasks.reject, "INV-1", retry=Retry(max=3, interval=1))
    wait_status(job, JobStatus.FAILED)

    assert len(job.get_meta()["failures"]) == 1
    entry = dlq.get(job.id)
    assert entry.attempts == 1 and entry.reason.startswith("permanent: ")


def test_rq_job_decorator_is_covered(redis, dlq, worker):
    worker("billing")
    charge = rq_job("billing", connection=redis, retry=Retry(max=1, interval=1))(plain_rq_tasks.charge)
    job = charge.delay(9)
    wait_status(job, JobStatus.FAILED)
    assert dlq.get(job.id).attempts == 2


def test_plain_job_without_retry_is_dead_lettered_after_one_run(redis, dlq, worker):
    worker("billing")
    job = Queue("billing", connection=redis).enqueue(plain_rq_tasks.charge, 1)
    wait_status(job, JobStatus.FAILED)
    entry = dlq.get(job.id)
    assert entry.attempts == 1 and entry.max_retries == 0 and entry.reason == "no retries configured"


def test_job_with_our_callback_is_recorded_once(redis, dlq, worker):
    worker("billing")
    job = RetryingQueue("billing", connection=redis).enqueue(plain_rq_tasks.charge, 3, retry=Retry(max=1, interval=1))
    wait_status(job, JobStatus.FAILED)
    assert [f["attempt"] for f in job.get_meta()["failures"]] == [1, 2]  # not [1, 1, 2, 2]
    assert [item["attempt"] for item in dlq.get(job.id).attempt_history()] == [1, 2]


def test_job_enqueued_with_the_callback_path_of_earlier_releases_still_runs(redis, dlq, worker):
    """RQ stores the callback's dotted name in the job hash: jobs enqueued before the package moved
    into subpackages name `failure_handlers.handler.on_failure`, which must keep working."""
    worker("billing")
    job = Queue("billing", connection=redis).enqueue(
        plain_rq_tasks.charge, 5, on_failure=Callback("failure_handlers.handler.on_failure")
    )
    assert redis.hget(job.key, "failure_callback_name") == b"failure_handlers.handler.on_failure"
    wait_status(job, JobStatus.FAILED)
    assert len(job.get_meta()["failures"]) == 1
    assert dlq.get(job.id).attempts == 1


def test_retrying_queue_applies_the_configured_policy_on_a_real_worker(redis, dlq, worker):
    worker("billing")  # TEST_ENV: RETRY_MAX=3, RETRY_INTERVALS=1
    job = RetryingQueue("billing", connection=redis).enqueue(plain_rq_tasks.charge, 4)
    assert job.retries_left == 3 and job.retry_intervals == [1] and job.meta["max_retries"] == 3
    wait_status(job, JobStatus.FAILED)
    assert dlq.get(job.id).attempts == 4


def test_successful_plain_job_leaves_no_trace(redis, dlq, worker):
    worker("billing")
    job = Queue("billing", connection=redis).enqueue(plain_rq_tasks.succeed, 2, retry=Retry(max=2, interval=1))
    wait_status(job, JobStatus.FINISHED)
    assert "failures" not in job.get_meta() and dlq.count() == 0


def test_a_final_failure_stores_no_retries_left_with_its_dlq_entry(redis, dlq):
    """If the worker died right after the handler, the job cleaned up as abandoned is not retried."""
    job = Queue(connection=redis).enqueue(plain_rq_tasks.reject, "INV-9", retry=Retry(max=3))
    try:
        raise PermanentError("invoice INV-9 rejected")
    except PermanentError as error:
        handle_failure(job, redis, PermanentError, error, error.__traceback__)  # as the worker would, then dies
    assert dlq.get(job.id) is not None and redis.hget(job.key, "retries_left") == b"0"
