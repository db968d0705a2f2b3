"""Dedup at enqueue and idempotent tasks on a real server and real `rq worker` processes."""

from __future__ import annotations

import threading

from redis import Redis
from rq import Queue, Retry
from rq.job import Job, JobStatus

from failure_handlers.dev.worker_process import PROJECT_ROOT
from tests.idempotency_tasks import EFFECTS, GATEWAY_DOWN, HOLD, charge_invoice, slow_add
from tests.integration.conftest import run_script
from tests.polling import wait_for
from worker_tasks import enqueue

CLI_ENV = {"PYTHONPATH": str(PROJECT_ROOT)}  # so `rq-dlq requeue` can import the test tasks, as a worker does


def runs(redis, key):
    return int(redis.get(EFFECTS + key) or 0)


def test_eight_concurrent_enqueues_of_one_dedup_key_make_exactly_one_job(redis, redis_url, worker):
    start = threading.Barrier(8)
    ids: list[str] = []

    def producer() -> None:
        connection = Redis.from_url(redis_url)
        start.wait()
        ids.append(enqueue(slow_add, 1, 2, dedup_key="invoice:42", connection=connection).id)

    threads = [threading.Thread(target=producer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(ids) == 8 and len(set(ids)) == 1
    assert Queue("default", connection=redis).job_ids == ids[:1]
    assert [key for key in redis.keys("rq:job:*") if b"dedup-" in key] == [f"rq:job:{ids[0]}".encode()]

    worker()
    job = Job.fetch(ids[0], connection=redis)
    wait_for(lambda: job.get_status() == JobStatus.STARTED, 30, "the job to start")
    assert enqueue(slow_add, 1, 2, dedup_key="invoice:42").id == job.id  # still the same job while it runs
    wait_for(lambda: job.get_status() == JobStatus.FINISHED, 30, "the job to finish")
    assert enqueue(slow_add, 1, 2, dedup_key="invoice:42").id == job.id  # and while its result is kept
    assert len(Queue("default", connection=redis)) == 0


def test_a_dedup_key_is_free_again_once_rq_deletes_the_job(redis, worker):
    worker()
    first = enqueue(slow_add, 1, 2, dedup_key="k", result_ttl=0)
    wait_for(lambda: not Job.exists(first.id, connection=redis), 30, "the finished job to be deleted")
    second = enqueue(slow_add, 1, 2, dedup_key="k", result_ttl=0)
    assert second.id == first.id and second.enqueued_at != first.enqueued_at  # a new job, the same id


def test_an_idempotent_task_run_again_after_success_does_not_redo_its_work(redis, worker, tmp_path):
    process = worker()
    job = enqueue(charge_invoice, "42", 100)
    wait_for(lambda: job.get_status() == JobStatus.FINISHED, 30, "the charge")
    assert job.return_value() == {"invoice": "42", "charged": 100, "run": 1}

    Queue("default", connection=redis).enqueue_job(Job.fetch(job.id, connection=redis))  # the same job again
    duplicate = enqueue(charge_invoice, "42", 100)  # and a duplicate job
    wait_for(lambda: duplicate.get_status() == JobStatus.FINISHED, 30, "the duplicate")
    wait_for(lambda: job.get_status() == JobStatus.FINISHED and len(job.results()) == 2, 30, "the re-run")
    assert runs(redis, "invoice:42") == 1
    assert duplicate.return_value() == job.return_value() == {"invoice": "42", "charged": 100, "run": 1}
    assert process.poll() is None


def test_two_runs_of_one_key_at_once_do_the_work_once(redis, worker):
    worker()
    worker()
    redis.set(HOLD, 1)  # the first run holds the key, inside its work, until the second has met it
    first = enqueue(charge_invoice, "7", 5, hold=True)
    wait_for(lambda: first.get_status() == JobStatus.STARTED, 30, "the first run")
    second = enqueue(charge_invoice, "7", 5, retry=Retry(max=20, interval=1))
    busy = "failure_handlers.errors.IdempotencyKeyBusy"

    def failures(job: Job) -> list[str]:
        return [record["exc_type"] for record in Job.fetch(job.id, connection=redis).meta.get("failures", [])]

    wait_for(lambda: busy in failures(second), 30, "the second run to find the key busy")
    redis.delete(HOLD)
    wait_for(lambda: all(j.get_status() == JobStatus.FINISHED for j in (first, second)), 30, "both jobs")
    assert runs(redis, "invoice:7") == 1
    assert failures(first) == [] and set(failures(second)) == {busy}
    assert second.return_value() == first.return_value()


def dead_then_charged(redis, dlq, invoice: str):
    """A charge dead-lettered while the gateway is down, then the same charge done by a second job:
    the dead job's idempotency key is done. Returns the dead job."""
    redis.set(GATEWAY_DOWN, 1)
    failed = enqueue(charge_invoice, invoice, 10, retry=None)
    wait_for(lambda: dlq.get(failed.id), 30, "the failed charge in the DLQ")
    redis.delete(GATEWAY_DOWN)
    done = enqueue(charge_invoice, invoice, 10)
    wait_for(lambda: done.get_status() == JobStatus.FINISHED, 30, "the second charge")
    assert runs(redis, f"invoice:{invoice}") == 2
    return failed


def test_requeue_skips_an_already_processed_job_unless_forced(redis, worker, dlq):
    worker()
    failed = dead_then_charged(redis, dlq, "9")

    skipped = run_script("scripts/requeue.py", failed.id, env=CLI_ENV)
    assert skipped.returncode == 0, skipped.stderr
    assert f"skipped {failed.id}: already processed" in skipped.stdout
    assert "requeued 0, skipped 1" in skipped.stdout
    assert failed.get_status() == JobStatus.FAILED and dlq.get(failed.id)

    forced = run_script("scripts/requeue.py", "--force", failed.id, env=CLI_ENV)
    assert forced.returncode == 0, forced.stderr
    assert f"requeued {failed.id}" in forced.stdout
    wait_for(lambda: failed.get_status() == JobStatus.FINISHED, 30, "the forced re-run")
    assert runs(redis, "invoice:9") == 3
    assert failed.return_value()["run"] == 3


def test_requeue_of_a_task_it_cannot_import_requeues_normally(redis, worker, dlq):
    worker()
    failed = dead_then_charged(redis, dlq, "11")
    result = run_script("scripts/requeue.py", failed.id)  # no PYTHONPATH: tests.* is not importable here
    assert result.returncode == 0, result.stderr
    assert f"requeued {failed.id}" in result.stdout
    wait_for(lambda: failed.get_status() == JobStatus.FINISHED, 30, "the requeued job")
    assert runs(redis, "invoice:11") == 2  # the worker still found the key done
