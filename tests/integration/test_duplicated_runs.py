"""A job that really runs an attempt twice, on a real `rq worker`: its entry numbers every run and
says one was duplicated (docs/dlq-contract.md#the-first-cause-wins, failure_handlers/dlq/runs.py)."""

from __future__ import annotations

import json

import pytest
from rq import Queue, Retry
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from tests.integration.conftest import run_script
from tests.polling import wait_for
from worker_tasks import enqueue
from worker_tasks.example_tasks import flaky_sync

pytestmark = pytest.mark.integration

ALWAYS_FAILS = 99  # flaky_sync(99) fails on every run
LATER = 600  # the retry's delay: it waits in the ScheduledJobRegistry until this test moves it


def put_back(redis, job_id: str, retries_left: int) -> None:
    """Put a job whose retry is scheduled back in its queue now, as RQ does for a retry due at once:
    `Job.retry` -> `Queue._enqueue_job` (the path of `IntermediateQueue.cleanup` ->
    `Worker.handle_job_failure`, rq 3.0), and as the scheduler does when the delay is over (the job
    out of the ScheduledJobRegistry, then enqueued). With `retries_left` as given: when RQ's own
    decrement after our handler's record is lost (a failover, a worker killed in between), the job
    runs again with the budget of the run it already made."""
    job = Job.fetch(job_id, connection=redis)
    job.retries_left = retries_left
    queue = Queue(job.origin, connection=redis)
    with redis.pipeline() as pipe:
        ScheduledJobRegistry(queue=queue).remove(job, pipeline=pipe)
        queue._enqueue_job(job, pipeline=pipe)
        pipe.execute()


def scheduled_after(redis, job: Job, runs: int) -> bool:
    """`runs` failed runs recorded and the retry waiting in the ScheduledJobRegistry."""
    return len(job.get_meta().get("failures", [])) == runs and job.id in ScheduledJobRegistry(
        "default", connection=redis
    )


def test_an_attempt_run_twice_with_the_same_budget_is_a_second_run_marked_duplicated(redis, dlq, worker):
    worker()
    job = enqueue(flaky_sync, ALWAYS_FAILS, connection=redis, retry=Retry(max=1, interval=LATER))
    wait_for(lambda: scheduled_after(redis, job, 1), 30, "run 1 recorded, its retry scheduled")
    assert job.get_meta()["failures"][0]["attempt"] == 1

    put_back(redis, job.id, retries_left=1)  # RQ's decrement of run 1 lost: attempt 1 again
    wait_for(lambda: scheduled_after(redis, job, 2), 30, "run 2 recorded, its retry scheduled")
    put_back(redis, job.id, retries_left=Job.fetch(job.id, connection=redis).retries_left)  # the delay is over
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.FAILED and dlq.get(job.id), 30, "run 3, dead")

    records = job.get_meta()["failures"]
    assert [(item["run"], item["attempt"]) for item in records] == [(1, 1), (2, 1), (3, 2)]
    entry = dlq.get(job.id)
    history = [(item["run"], item["attempt"], item.get("duplicate", False)) for item in entry.attempt_history()]
    assert history == [(1, 1, False), (2, 1, True), (3, 2, False)]
    assert (entry.duplicated_runs, entry.attempts, entry.max_retries) == (1, 2, 1)
    assert entry.exc_type == "ConnectionError" and entry.event_history() == []  # no merge: the handler's own entry

    shown = run_script("scripts/dlq.py", "show", job.id)
    assert shown.returncode == 0, shown.stderr
    assert "duplicated_runs  1 (an attempt ran twice" in shown.stdout
    assert "2 (duplicate: this attempt ran again)" in shown.stdout
    [listed] = json.loads(run_script("scripts/dlq.py", "list", "--json").stdout)
    assert listed["duplicated_runs"] == 1 and [item["run"] for item in listed["failures"]] == [1, 2, 3]
    as_json = json.loads(run_script("scripts/dlq.py", "show", "--json", job.id).stdout)
    assert [item.get("duplicate", False) for item in as_json["failures"]] == [False, True, False]
