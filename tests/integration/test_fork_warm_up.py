"""A real forking `rq worker`: its work-horses inherit RQ's traceback sources, read once by the
parent before each fork (`recording/fork_warm_up.py`), and still dead-letter as before."""

from __future__ import annotations

from rq import Queue
from rq.job import Job, JobStatus

from failure_handlers.recording.fork_warm_up import rq_traceback_files
from tests import plain_rq_tasks
from tests.polling import wait_for


def finished(job: Job, status: JobStatus) -> Job:
    wait_for(lambda: job.get_status(refresh=True) == status, 60, f"job {job.id} {status.value}")
    return job


def test_the_procfiles_worker_hands_its_work_horses_rqs_source_lines(redis, dlq, worker):
    worker("default")  # as the Procfile starts it: with the exception handler, which installs the warm-up
    queue = Queue("default", connection=redis)
    for _ in range(2):  # the first fork and a later one
        job = finished(queue.enqueue(plain_rq_tasks.rq_sources_in_linecache), JobStatus.FINISHED)
        assert job.return_value() == rq_traceback_files()
    failed = finished(queue.enqueue(plain_rq_tasks.charge, 7), JobStatus.FAILED)
    entry = dlq.get(failed.id)
    assert entry is not None and entry.exc_type == "ConnectionError"
    lines = entry.traceback.splitlines()
    rq_frames = [n for n, line in enumerate(lines) if line.startswith('  File "') and "/rq/" in line]
    assert rq_frames and all(lines[n + 1].startswith("    ") for n in rq_frames)  # each with its source line
    assert "raise ConnectionError" in entry.traceback


def test_a_plain_rq_worker_does_not_warm_anything(redis, worker):
    worker("default", record_every_job=False)  # plain RQ: none of our modules in the parent
    job = Queue("default", connection=redis).enqueue(plain_rq_tasks.rq_sources_in_linecache)
    assert finished(job, JobStatus.FINISHED).return_value() == []
