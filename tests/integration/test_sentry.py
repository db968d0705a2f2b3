"""Sentry with the real sentry-sdk (its defaults: RqIntegration and LoguruIntegration on), initialised
by the README's settings module as written, in real `rq worker` processes started with the README's
command, posting to a local receiver that decodes the envelopes."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rq import Queue, Retry
from rq.job import Job, JobStatus

from failure_handlers.integration import NO_RETRY, RetryingQueue
from tests import plain_rq_tasks
from tests.conftest import TEST_ENV
from tests.polling import wait_for
from tests.readme_blocks import ReadmeWorkers, environ_without
from tests.telemetry_receivers import black_hole, sentry_receiver

pytest.importorskip("sentry_sdk")
pytestmark = pytest.mark.integration

DASHBOARD_URL = "https://ops.example.com/dlq"


class SentryWorkers(ReadmeWorkers):
    """The README's Sentry workers: `workers(dsn)` starts one with SENTRY_DSN=`dsn`."""

    def __init__(self, root: Path, redis_url: str) -> None:
        super().__init__("Sentry", root)
        self.env = {**environ_without("SENTRY_"), **TEST_ENV, "REDIS_URL": redis_url, "DASHBOARD_URL": DASHBOARD_URL}

    def __call__(self, dsn: str) -> subprocess.Popen[bytes]:
        return self.start({**self.env, "SENTRY_DSN": dsn, "LOG_LEVEL": "INFO"})


@pytest.fixture
def sentry_worker(redis, redis_url, tmp_path) -> Iterator[SentryWorkers]:
    workers = SentryWorkers(tmp_path, redis_url)
    yield workers
    workers.stop()


def settled(redis, queue: str = "default") -> None:
    """Run a job that succeeds after the others: once it is finished, every earlier work-horse has
    exited, after RqIntegration flushed its events."""
    marker = Queue(queue, connection=redis).enqueue(plain_rq_tasks.succeed, 1)
    wait_for(lambda: marker.get_status(refresh=True) == JobStatus.FINISHED, 60, "the marker job")


def wait_status(job: Job, status: JobStatus, timeout: float = 60) -> None:
    wait_for(lambda: job.get_status(refresh=True) == status, timeout, f"job {job.id} {status.value}")


def exception_events(received) -> list[dict]:
    return [event for event in received.of_type("event") if event.get("exception")]


def test_a_dead_job_is_one_event_with_its_dlq_group_and_link(redis, dlq, sentry_worker):
    with sentry_receiver() as (dsn, received):
        sentry_worker(dsn)
        job = RetryingQueue("default", connection=redis).enqueue(
            plain_rq_tasks.charge, 7, retry=Retry(max=1, interval=1)
        )
        wait_status(job, JobStatus.FAILED)
        settled(redis)

        entry = dlq.get(job.id)
        assert entry is not None and entry.attempts == 2
        events = received.of_type("event")
        assert len(events) == 1, [e.get("logentry") or e.get("exception") for e in events]
        event = events[0]
        assert event["exception"]["values"][-1]["type"] == "ConnectionError"
        assert event["tags"]["dlq.group"] == entry.fingerprint
        assert event["fingerprint"] == [entry.fingerprint]
        assert event["contexts"]["dlq"] == {
            "group": entry.fingerprint,
            "job_id": job.id,
            "url": f"{DASHBOARD_URL}/jobs/{job.id}",
        }
        assert event["extra"]["rq-job"]["job_id"] == job.id  # RqIntegration's own event, enriched


def test_a_timed_out_job_is_grouped_as_its_dlq_group_too(redis, dlq, sentry_worker):
    """RqIntegration fingerprints timeouts by function; the DLQ group wins (the job's scope processor)."""
    with sentry_receiver() as (dsn, received):
        sentry_worker(dsn)
        job = RetryingQueue("default", connection=redis).enqueue(
            plain_rq_tasks.sleep, 30, retry=NO_RETRY, job_timeout=1
        )
        wait_status(job, JobStatus.FAILED)
        settled(redis)
        entry = dlq.get(job.id)
        events = received.of_type("event")
        assert len(events) == 1 and entry.exc_type.endswith("JobTimeoutException")
        assert events[0]["fingerprint"] == [entry.fingerprint] == [events[0]["tags"]["dlq.group"]]


def test_a_retried_run_makes_no_event(redis, sentry_worker):
    with sentry_receiver() as (dsn, received):
        sentry_worker(dsn)
        job = RetryingQueue("default", connection=redis).enqueue(
            plain_rq_tasks.charge, 8, retry=Retry(max=1, interval=30)
        )
        wait_for(lambda: len(job.get_meta(refresh=True).get("failures") or []) == 1, 60, "the first failed run")
        settled(redis)
        assert job.get_status(refresh=True) == JobStatus.SCHEDULED
        assert received.of_type("event") == []


@pytest.mark.parametrize("task, retry", [(plain_rq_tasks.charge, 1), (plain_rq_tasks.reject, 3)])
def test_plain_rq_jobs_through_the_exception_handler_are_one_event_too(redis, dlq, sentry_worker, task, retry):
    """Retries exhausted (RQ's hook reported it before ours ran) and permanent with retries left
    (RQ's hook thought it would retry: ours reports it)."""
    with sentry_receiver() as (dsn, received):
        sentry_worker(dsn)
        job = Queue("default", connection=redis).enqueue(task, 9, retry=Retry(max=retry, interval=1))
        wait_status(job, JobStatus.FAILED)
        settled(redis)

        entry = dlq.get(job.id)
        events = received.of_type("event")
        assert len(events) == 1, [e.get("logentry") or e.get("exception") for e in events]
        assert events[0]["tags"]["dlq.group"] == entry.fingerprint
        assert events[0]["fingerprint"] == [entry.fingerprint]
        assert events[0]["contexts"]["dlq"]["url"] == f"{DASHBOARD_URL}/jobs/{job.id}"


def test_a_sentry_that_hangs_delays_no_dlq_write(redis, dlq, sentry_worker):
    with black_hole() as dsn:
        worker = sentry_worker(dsn)
        started = time.monotonic()
        job = RetryingQueue("default", connection=redis).enqueue(plain_rq_tasks.charge, 5, retry=NO_RETRY)
        wait_for(lambda: dlq.get(job.id) is not None, 30, "the DLQ entry")
        to_dlq = time.monotonic() - started
        settled(redis)
        to_next_job = time.monotonic() - started
        assert worker.poll() is None
        assert dlq.get(job.id).reason == "no retries configured"
        print(f"dead-lettered after {to_dlq:.2f}s; the next job finished after {to_next_job:.2f}s")


def test_a_sentry_that_is_down_is_one_line_per_dropped_event_and_the_entry_is_written(redis, dlq, sentry_worker):
    with socket.socket() as closed:  # a port nothing listens on: the connection is refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    worker = sentry_worker(f"http://public@127.0.0.1:{port}/1")
    job = RetryingQueue("default", connection=redis).enqueue(plain_rq_tasks.charge, 5, retry=NO_RETRY)
    wait_for(lambda: dlq.get(job.id) is not None, 30, "the DLQ entry")
    wait_for(lambda: "did not take an event" in sentry_worker.log_of(worker), 30, "the dropped-event line")
    log = sentry_worker.log_of(worker)
    lines = [line for line in log.splitlines() if "did not take an event" in line]
    expected = "Sentry at 127.0.0.1 did not take an event (network); DLQ entries are written regardless"
    assert len(lines) == 1 and expected in lines[0], lines
    assert "public@" not in log
    assert worker.poll() is None
