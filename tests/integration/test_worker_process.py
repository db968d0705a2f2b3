"""The test and dev helper that starts and stops `rq worker` processes (failure_handlers/dev/worker_process.py)."""

from __future__ import annotations

import subprocess

from failure_handlers.dev import worker_process
from failure_handlers.dev.worker_process import descendants, start_worker, stop_worker
from tests.polling import wait_for


def test_a_worker_killed_because_it_did_not_stop_in_time_takes_its_scheduler_with_it(redis, redis_url, monkeypatch):
    """RQ 3.0 runs the scheduler in a child process: a worker SIGKILLed by `stop_worker` once left it
    running, writing its heartbeat into the next test's database."""
    worker = start_worker(redis_url, output=subprocess.DEVNULL)
    try:
        children = wait_for(lambda: descendants(worker.pid), 30, "the worker's scheduler process")
        wait_for(lambda: redis.keys("rq:scheduler:*"), 30, "the scheduler's heartbeat")
    finally:
        monkeypatch.setattr(worker_process, "STOP_TIMEOUT_SECONDS", 0)  # no time for a warm shutdown: SIGKILL
        stop_worker(worker)
    wait_for(lambda: not any(alive(pid) for pid in children), 10, "every process of the worker to end")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended
    except OSError:
        return False
