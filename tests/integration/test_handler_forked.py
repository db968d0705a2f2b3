"""The failure handler keeps one DLQ object per (connection, settings) in a process: a forked
work-horse (RQ's forking `Worker`) inherits it with its parent's connection object, and both go on
writing through it on a real server."""

from __future__ import annotations

import os
import sys

from redis import Redis
from rq.job import Job

from failure_handlers import handler, runtime
from failure_handlers.dlq.store import DeadLetterQueue
from tests import plain_rq_tasks
from worker_tasks import enqueue


def final_failure(connection: Redis) -> str:
    """One final failure handled as RQ calls the callback; the job's id."""
    job = Job.fetch(enqueue(plain_rq_tasks.charge, 1, connection=connection, retry=None).id, connection=connection)
    try:
        plain_rq_tasks.charge(1)
    except ConnectionError:
        exc_info = sys.exc_info()
    handler.on_failure(job, connection, *exc_info)
    return job.id


def test_a_forked_work_horse_writes_through_the_dlq_its_parent_kept(redis: Redis, dlq: DeadLetterQueue) -> None:
    first = final_failure(redis)  # the parent builds its DLQ on this connection, and keeps it
    kept = handler.dead_letter_queue(redis, runtime.settings())
    pid = os.fork()
    if pid == 0:  # the work-horse: the inherited connection object, its pool reset by redis-py after the fork
        code = 3
        try:
            child = final_failure(redis)
            reused = handler.dead_letter_queue(redis, runtime.settings()) is kept
            code = 0 if reused and kept.get(child) is not None else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    last = final_failure(redis)  # the parent's connection is still good after the child used its copy
    entries = dlq.list()
    assert len(entries) == 3 and {first, last} < {entry.job_id for entry in entries}
    assert handler.dead_letter_queue(redis, runtime.settings()) is kept
