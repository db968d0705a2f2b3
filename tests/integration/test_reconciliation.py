"""Failures RQ records without calling our handler reach the DLQ anyway (real workers, real server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from rq import Callback, Queue, Retry, SimpleWorker
from rq.command import send_stop_job_command
from rq.intermediate_queue import IntermediateQueue
from rq.registry import FailedJobRegistry, StartedJobRegistry

from failure_handlers.dev.worker_process import PROJECT_ROOT, kill_at_once, rq_command
from tests import dying_worker_tasks, plain_rq_tasks
from tests.conftest import TEST_ENV
from tests.integration.conftest import run_script
from tests.polling import wait_for
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job


def failed(redis, job, queue="default"):
    return job.id in FailedJobRegistry(queue, connection=redis)


def listed_ids():
    result = run_script("scripts/dlq.py", "list", "--json")
    assert result.returncode == 0, result.stderr
    return {entry["job_id"]: entry for entry in json.loads(result.stdout)}


def test_killed_work_horse_is_noted_by_list_and_dead_lettered_by_the_next_reconcile(redis, dlq, worker):
    worker()
    job = enqueue(chaos_job, "sigkill", connection=redis, retry=Retry(max=1, interval=1))
    wait_for(lambda: failed(redis, job), 30, "the killed job to be failed by RQ (2 runs)")
    assert dlq.get(job.id) is None  # RQ called no callback: nothing wrote an entry yet

    listing = run_script("scripts/dlq.py", "list")  # reads never write: it tells, the reconciler acts
    assert "note: 1 failed job is not in the DLQ yet: run rq-dlq reconcile" in listing.stderr, listing.stderr
    assert dlq.get(job.id) is None
    assert run_script("scripts/dlq.py", "reconcile", "--incremental").returncode == 0
    entry = listed_ids()[job.id]

    assert entry["exc_type"] == "WorkHorseKilled" and "signal 9" in entry["exc_message"]
    assert entry["reason"] == "work-horse killed" and entry["attempts"] == 2 and entry["max_retries"] == 1
    assert entry["func_name"] == "worker_tasks.chaos_tasks.chaos_job" and entry["self_sufficient"]


def test_reconciler_process_dead_letters_killed_jobs_continuously(redis, dlq, worker, redis_url):
    watcher = subprocess.Popen(
        [sys.executable, "scripts/dlq.py", "reconcile", "--watch", "--interval", "0.2"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "REDIS_URL": redis_url},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        worker()
        job = enqueue(chaos_job, "sigkill", connection=redis, retry=None)
        entry = wait_for(lambda: dlq.get(job.id), 30, "the reconciler process to write the entry")
        assert entry.exc_type == "WorkHorseKilled" and entry.attempts == 1
    finally:
        watcher.send_signal(signal.SIGTERM)
        _, log = watcher.communicate(timeout=10)
    assert watcher.returncode == 0, log
    assert "moved to DLQ: WorkHorseKilled" in log and "Reconciler stopped" in log


def test_stopped_job_is_recorded_with_its_cause(redis, dlq, worker):
    worker()
    job = enqueue(chaos_job, "ok", 60, connection=redis)
    wait_for(lambda: job.get_status(refresh=True) == "started", 20, "the job to start")
    send_stop_job_command(redis, job.id)
    wait_for(lambda: failed(redis, job), 20, "the stopped job to reach the failed registry")

    result = run_script("scripts/dlq.py", "reconcile")

    assert result.returncode == 0 and "1 DLQ entries added" in result.stdout, result.stdout + result.stderr
    entry = dlq.get(job.id)
    assert (entry.exc_type, entry.reason) == ("JobStopped", "stopped")


def test_timeout_is_recorded_by_the_handler_with_its_cause(redis, dlq, worker):
    worker()
    job = enqueue(chaos_job, "timeout", connection=redis, retry=None, job_timeout=1)
    entry = wait_for(lambda: dlq.get(job.id), 30, "the timed-out job's entry")
    assert entry.exc_type == "rq.timeouts.JobTimeoutException"
    assert "maximum timeout value (1 seconds)" in entry.exc_message and "JobTimeoutException" in entry.traceback


def test_abandoned_job_of_a_killed_worker_is_dead_lettered(redis, dlq, worker):
    process = worker()
    job = enqueue(chaos_job, "ok", 60, connection=redis, retry=None)
    wait_for(lambda: job.get_status(refresh=True) == "started", 20, "the job to start")
    kill_at_once(process.pid)  # the whole machine is gone: worker and work-horse
    process.wait()
    # RQ notices only when the execution's heartbeat expires (>= 60 s); move that moment to now.
    started = StartedJobRegistry("default", connection=redis)
    redis.zadd(started.key, dict.fromkeys(redis.zrange(started.key, 0, -1), 1))

    assert run_script("scripts/dlq.py", "list").returncode == 0 and dlq.get(job.id) is None  # list runs no cleanup

    result = run_script("scripts/dlq.py", "reconcile")  # what the Procfile's reconciler process runs

    assert result.returncode == 0, result.stderr
    entry = dlq.get(job.id)
    assert entry is not None and entry.exc_type == "rq.exceptions.AbandonedJobError"
    assert "heartbeats" in entry.exc_message and job.get_status(refresh=True) == "failed"


def test_entry_of_a_job_requeued_by_rq_itself_is_removed(redis, dlq, redis_url):
    job = enqueue(chaos_job, "permanent", connection=redis, queue="billing")
    SimpleWorker([Queue("billing", connection=redis)], connection=redis).work(burst=True)
    assert dlq.get(job.id) is not None

    requeued = subprocess.run(
        [*rq_command(), "requeue", "--queue", "billing", "--url", redis_url, job.id],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert requeued.returncode == 0, requeued.stderr
    listing = run_script("scripts/dlq.py", "list")
    assert "note: 1 entry of requeued jobs still in the DLQ: run rq-dlq reconcile" in listing.stderr, listing.stderr

    assert run_script("scripts/dlq.py", "reconcile", "--incremental").returncode == 0
    assert job.id not in listed_ids()
    assert dlq.get(job.id) is None and job.get_status(refresh=True) == "queued"


def test_parallel_reconcilers_write_each_missing_entry_once(redis, dlq):
    jobs = [enqueue(chaos_job, "permanent", connection=redis) for _ in range(40)]
    SimpleWorker([Queue(connection=redis)], connection=redis).work(burst=True)
    dlq.delete([job.id for job in jobs])  # as if the handler had never run for them

    runs = [
        subprocess.Popen(
            [sys.executable, "scripts/dlq.py", "reconcile"],
            cwd=PROJECT_ROOT,
            env=os.environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [run.communicate(timeout=60) for run in runs]

    assert all(run.returncode == 0 for run in runs), outputs
    assert dlq.count() == 40 and {entry.job_id for entry in dlq.iter_all()} == {job.id for job in jobs}
    assert len(list(redis.scan_iter(match=TEST_ENV["DLQ_PREFIX"] + "entry:*"))) == 40
    assert all(entry.exc_type == "worker_tasks.chaos_tasks.ChaosPermanentError" for entry in dlq.iter_all())
    again = run_script("scripts/dlq.py", "reconcile")
    assert "0 DLQ entries added" in again.stdout and dlq.count() == 40


def test_reconciler_keeps_entries_an_operator_dismissed_out(redis, dlq):
    job = enqueue(chaos_job, "permanent", connection=redis)
    SimpleWorker([Queue(connection=redis)], connection=redis).work(burst=True)
    assert run_script("scripts/dlq.py", "delete", "--keep-job", job.id).returncode == 0

    assert "0 DLQ entries added" in run_script("scripts/dlq.py", "reconcile").stdout
    assert dlq.get(job.id) is None and failed(redis, job)


def test_entry_of_a_job_no_handler_saw_lists_the_runs_rq_recorded(redis, dlq, worker, redis_url):
    """A plain RQ worker (no exception handler) fails a plain job twice, `rq requeue` in between:
    RQ's results hold both failures, and so does the reconciled entry."""
    worker(record_every_job=False)
    job = Queue("default", connection=redis).enqueue(plain_rq_tasks.charge, 8)
    wait_for(lambda: failed(redis, job), 30, "the first failure")
    requeue = [*rq_command(), "requeue", "--queue", "default", "--url", redis_url, job.id]
    subprocess.run(requeue, cwd=PROJECT_ROOT, check=True, capture_output=True, timeout=30)
    wait_for(lambda: failed(redis, job) and len(job.results()) == 2, 30, "the second failure")

    assert run_script("scripts/dlq.py", "reconcile", "--incremental").returncode == 0
    entry = listed_ids()[job.id]

    assert entry["attempts"] == 2 and [item["attempt"] for item in entry["failures"]] == [1, 2]
    assert all(item["exc_type"] == "ConnectionError" for item in entry["failures"])
    assert "customer 8" in entry["exc_message"] and entry["reason"] == "failed; the failure handler did not record it"


def test_a_job_stuck_in_rqs_intermediate_queue_is_retried_or_dead_lettered_by_the_reconciler(redis, dlq):
    """A worker killed between dequeueing a job and starting it leaves it in the intermediate queue,
    which RQ 3.0 cleans only in a worker's 10-minute maintenance (docs/rq-behaviour.md)."""
    queue = Queue(connection=redis)
    retried = enqueue(chaos_job, "ok", connection=redis, retry=Retry(max=1, interval=0))
    doomed = enqueue(chaos_job, "ok", connection=redis, retry=None)
    stuck = IntermediateQueue(queue.key, connection=redis)
    for _ in range(2):  # what a worker's dequeue does: LMOVE from the queue to the intermediate queue
        redis.lmove(queue.key, stuck.key, "LEFT", "RIGHT")
    assert queue.count == 0 and set(stuck.get_job_ids()) == {retried.id, doomed.id}

    assert "0 DLQ entries added" in run_script("scripts/dlq.py", "reconcile").stdout  # first pass: marked only
    for job in (retried, doomed):  # as if marked more than a minute ago (RQ's threshold)
        redis.set(stuck.get_first_seen_key(job.id), time.time() - 120)
    report = run_script("scripts/dlq.py", "reconcile")

    assert "1 DLQ entries added" in report.stdout, report.stdout + report.stderr
    assert stuck.get_job_ids() == [] and retried.id in queue.get_job_ids()  # back in its queue, one retry used
    entry = dlq.get(doomed.id)
    assert entry and failed(redis, doomed) and "intermediate queue" in entry.exc_message


def test_a_worker_killed_after_the_handler_dead_lettered_its_job_keeps_the_real_cause(redis, dlq, worker):
    """RQ's abandoned-job cleanup re-records the job with a bare AbandonedJobError: the entry keeps the
    job's own RuntimeError and appends the abandonment (docs/dlq-contract.md#the-first-cause-wins)."""
    process = worker()
    job = Queue("default", connection=redis).enqueue(
        dying_worker_tasks.unbalanced_ledger, on_failure=Callback(dying_worker_tasks.dead_letter_then_hang)
    )
    written = wait_for(lambda: dlq.get(job.id), 30, "the handler's DLQ entry")
    assert written.exc_type == "RuntimeError"
    kill_at_once(process.pid)  # before RQ's own bookkeeping: the job stays in the StartedJobRegistry
    process.wait()
    started = StartedJobRegistry("default", connection=redis)
    assert job.id in started.get_job_ids(cleanup=False)
    redis.zadd(started.key, dict.fromkeys(redis.zrange(started.key, 0, -1), 1))  # its heartbeat expired now

    result = run_script("scripts/dlq.py", "reconcile", env={"PYTHONPATH": str(PROJECT_ROOT)})

    assert result.returncode == 0, result.stderr
    job.refresh()
    assert job.get_status() == "failed"
    assert job.meta["failures"][-1]["exc_type"] == "rq.exceptions.AbandonedJobError"  # the cleanup ran our handler
    entry = dlq.get(job.id)
    assert (entry.exc_type, entry.exc_message) == ("RuntimeError", "ledger out of balance by 0.01")
    assert "raise RuntimeError" in entry.traceback and entry.failed_at == written.failed_at
    [event] = entry.event_history()
    assert (event["when"], event["exc_type"]) == ("then", "rq.exceptions.AbandonedJobError")
    assert (entry.attempts, entry.duplicated_runs) == (1, 0)
    shown = run_script("scripts/dlq.py", "show", job.id)
    assert "then: rq.exceptions.AbandonedJobError" in shown.stdout, shown.stdout + shown.stderr


def test_a_retry_torn_by_a_kill_is_scheduled_again_by_the_reconciler(redis, dlq):
    """RQ 3.0's Job.retry writes the status `scheduled` at once and the ScheduledJobRegistry entry in a
    pipeline after: a process killed in between left a job in no registry, which RQ's cleanup then
    dropped from the StartedJobRegistry for good (jobs/torn_retries.py; seen in the chaos run)."""
    queue = Queue(connection=redis)
    job = enqueue(chaos_job, "ok", connection=redis, retry=Retry(max=3, interval=1))
    redis.lpop(queue.key)  # taken by a worker ...
    started = StartedJobRegistry("default", connection=redis)
    redis.zadd(started.key, {job.id: 1})  # ... which died: its heartbeat expired long ago
    job.set_status("scheduled")  # the torn retry: the status written, the pipeline never sent
    assert redis.zscore(queue.scheduled_job_registry.key, job.id) is None

    result = run_script("scripts/dlq.py", "reconcile")

    assert result.returncode == 0, result.stderr
    assert redis.zscore(queue.scheduled_job_registry.key, job.id) is not None  # due now: the scheduler runs it
    assert job.id not in started.get_job_ids(cleanup=False) and job.get_status(refresh=True) == "scheduled"
    assert "retry was torn" in result.stderr and dlq.get(job.id) is None


def test_a_torn_retry_runs_to_the_end_with_a_worker(redis, dlq, worker):
    queue = Queue(connection=redis)
    job = enqueue(chaos_job, "ok", connection=redis, retry=Retry(max=3, interval=1))
    redis.lpop(queue.key)
    redis.zadd(StartedJobRegistry("default", connection=redis).key, {job.id: 1})
    job.set_status("scheduled")
    assert run_script("scripts/dlq.py", "reconcile").returncode == 0
    worker()  # the Procfile's worker, --with-scheduler
    wait_for(lambda: job.get_status(refresh=True) == "finished", 30, "the repaired job to run")
