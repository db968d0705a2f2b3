"""The retry policy on real `rq worker --with-scheduler` processes: exponential delays, jitter spread,
Retry-After from a real HTTP server, a message rule, and bad settings stopping start-up."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rq import Queue
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from failure_handlers import runtime
from failure_handlers.dev.http_stub import serving
from tests import retry_tasks
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from worker_tasks import download_content, enqueue


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, str]:
    """The same settings for the enqueuing test process (the plan is made at enqueue) and the worker."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.settings.cache_clear()
    return env


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def wait_status(job: Job, status: JobStatus, timeout: float) -> None:
    wait_for(lambda: job.get_status(refresh=True) == status, timeout, f"job {job.id} {status.value}")


def test_exponential_delays_with_a_one_second_base(redis, dlq, worker, monkeypatch):
    env = configure(
        monkeypatch, RETRY_MAX="3", RETRY_BACKOFF="exponential", RETRY_BACKOFF_BASE="1", RETRY_BACKOFF_CAP="4"
    )
    worker(**env)
    job = enqueue(retry_tasks.always_fails, connection=redis)
    assert job.retry_intervals == [1, 2, 4] and job.meta["retry_delays"] == [1, 2, 4]
    wait_status(job, JobStatus.FAILED, 20)

    failures = job.get_meta()["failures"]
    assert [f.get("retry_in") for f in failures] == [1, 2, 4, None]
    times = [epoch(failure["failed_at"]) for failure in failures]
    # RQ scores a scheduled job in whole seconds (calendar.timegm truncates now + delay) and its
    # scheduler polls every second: run n+1 fails no earlier than floor(failure n + planned delay), and
    # (loose: a loaded machine) not much later. The plan itself is job.retry_intervals, above.
    for earlier, later, planned in zip(times[:-1], times[1:], (1, 2, 4), strict=True):
        assert math.floor(earlier + planned) <= later <= earlier + planned + 5, (times, planned)

    shown = run_script("scripts/dlq.py", "show", job.id)
    assert shown.returncode == 0, shown.stderr
    assert "1, 2, 4s (exponential, base 1s, cap 4s; none jitter)" in shown.stdout
    assert dlq.get(job.id).reason == "retries exhausted"


def test_jitter_spreads_200_jobs_failing_at_once_over_the_window(redis, worker, monkeypatch):
    env = configure(monkeypatch, RETRY_MAX="1", RETRY_INTERVALS="40", RETRY_JITTER="equal")
    queue = Queue("default", connection=redis)
    jobs = [enqueue(retry_tasks.always_fails, n, connection=redis) for n in range(200)]
    worker(**env)  # a forking worker: each failure is handled in its own work-horse
    registry = ScheduledJobRegistry(queue=queue)
    wait_for(lambda: registry.count == 200, 60, "200 scheduled retries")

    scores = dict(redis.zrange(registry.key, 0, -1, withscores=True))
    offsets = []
    for job in jobs:
        record = job.get_meta(refresh=True)["failures"][-1]
        offset = scores[job.id.encode()] - epoch(record["failed_at"])  # the delay RQ really scheduled
        assert abs(offset - record["retry_in"]) <= 1.01, (offset, record)
        offsets.append(record["retry_in"])
    # Equal jitter on 40 s: 20..40 s. Without jitter every offset would be 40.
    assert min(offsets) >= 20 and max(offsets) <= 40
    assert len(set(offsets)) >= 15 and max(offsets) - min(offsets) >= 15
    assert len(set(scores.values())) >= 15


class RateLimitedServer:
    """Answers the first GET with 429 and `Retry-After: 2`, then 200; records when each request came."""

    def __init__(self) -> None:
        self.times: list[float] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.times.append(time.time())
                first = len(server.times) == 1
                body = b"slow down" if first else b"ok"
                self.send_response(429 if first else 200)
                if first:
                    self.send_header("Retry-After", "2")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """quiet"""

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/rates"


@contextmanager
def rate_limited_server() -> Iterator[RateLimitedServer]:
    server = RateLimitedServer()
    with serving(server.http):
        yield server


def test_retry_after_from_a_real_server_sets_the_delay(redis, worker, monkeypatch):
    env = configure(monkeypatch, RETRY_MAX="3", RETRY_INTERVALS="30", RETRY_JITTER="full")
    worker(**env)
    with rate_limited_server() as server:
        job = enqueue(download_content, server.url, connection=redis)
        wait_status(job, JobStatus.FINISHED, 15)  # the planned 30 s would time this out

    assert len(server.times) == 2
    assert 1 <= server.times[1] - server.times[0] <= 4.5  # 2 s, in RQ's whole-second schedule
    [record] = job.get_meta(refresh=True)["failures"]
    assert record["retry_in"] == 2 and record["retry_note"].startswith("Retry-After of HTTP 429: 2s, no jitter")
    assert record["decided_by"] == "HTTP 429 may succeed later"


def test_message_pattern_turns_a_retry_into_a_permanent_failure(redis, dlq, worker, monkeypatch):
    env = configure(monkeypatch, RETRY_MAX="3", RETRY_INTERVALS="1", PERMANENT_MESSAGE_PATTERNS="validation error")
    worker(**env)
    job = enqueue(retry_tasks.rejected_upstream, "A-1", connection=redis)
    wait_for(lambda: dlq.get(job.id), 15, "the DLQ entry")
    wait_status(job, JobStatus.FAILED, 10)

    entry = dlq.get(job.id)
    assert entry.attempts == 1 and len(job.get_meta()["failures"]) == 1
    assert entry.reason == "permanent: message matches PERMANENT_MESSAGE_PATTERNS 'validation error'"


@pytest.mark.parametrize(
    ("name", "value"),
    [("RETRY_BACKOFF", "linear"), ("RETRY_BACKOFF_CAP", "5"), ("RETRY_JITTER", "wide"),
     ("PERMANENT_MESSAGE_PATTERNS", "(unclosed")],
)  # fmt: skip
def test_bad_retry_setting_stops_rq_dlq_and_the_worker_with_one_line(redis, name, value):
    for args in (
        ["-m", "failure_handlers.cli", "list"],
        ["-m", "rq.cli", "worker", "-c", "failure_handlers.rq_settings", "--burst"],
    ):
        assert_one_line_error(run_script(*args, env={name: value}), name)
