"""OpenTelemetry in real `rq worker` processes: the README's settings module and worker command as
written, exporting with the OTLP/HTTP exporter to a local receiver; and beside
`opentelemetry-instrumentation-rq`, whose span is then the job's span."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from rq import Retry
from rq.job import Job, JobStatus

from failure_handlers.integration import RetryingQueue
from failure_handlers.telemetry.tracing import EVENT_DEAD_LETTERED, EVENT_RETRY
from tests import plain_rq_tasks
from tests.conftest import TEST_ENV
from tests.polling import wait_for
from tests.readme_blocks import ReadmeWorkers
from tests.telemetry_receivers import otlp_receiver

pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
pytestmark = pytest.mark.integration

TEMPLATE = "https://tempo.example/trace/{trace_id}"
INSTRUMENTOR = """
from opentelemetry_instrumentation_rq import RQInstrumentor

try:
    RQInstrumentor().instrument()
except Exception as error:  # 0.1.4 on RQ 3.0: wraps perform_job, then fails on Job.execute_success_callback
    print("instrumentor:", type(error).__name__)
"""


@pytest.fixture
def otel_worker(redis, redis_url, tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """The README's OpenTelemetry worker (its settings module, its command), exporting to `endpoint`."""
    workers = ReadmeWorkers("OpenTelemetry", tmp_path)
    assert "failure_handlers.integration.TracingWorker" in workers.command

    def start(endpoint: str, with_instrumentor: bool = False) -> subprocess.Popen:
        if with_instrumentor:
            pytest.importorskip("opentelemetry_instrumentation_rq")
            settings = tmp_path / "myapp" / "rq_settings.py"
            settings.write_text(settings.read_text() + INSTRUMENTOR)
        otel = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": "billing-worker"}
        return workers.start({**os.environ, **TEST_ENV, "REDIS_URL": redis_url, **otel})

    yield start
    workers.stop()


def dead_job(redis) -> Job:
    job = RetryingQueue("default", connection=redis).enqueue(plain_rq_tasks.charge, 3, retry=Retry(max=1, interval=1))
    wait_for(lambda: job.get_status(refresh=True) == JobStatus.FAILED, 60, f"job {job.id} failed")
    return job


def spans_of(received, name_start: str, count: int) -> list[dict]:
    def found() -> list[dict]:
        return [span for span in received.of_type("span") if span["name"].startswith(name_start)]

    wait_for(lambda: len(found()) >= count, 30, f"{count} spans {name_start}…")
    return found()


def test_the_readme_worker_exports_each_run_with_its_events_and_links_the_entry(redis, dlq, redis_url, otel_worker):
    with otlp_receiver() as (endpoint, received):
        otel_worker(endpoint)
        job = dead_job(redis)
        runs = spans_of(received, "process default", 2)

        assert [span["events"] for span in runs] == [[EVENT_RETRY], [EVENT_DEAD_LETTERED]]
        assert all(span["status"] == 2 for span in runs)  # STATUS_CODE_ERROR
        entry = dlq.get(job.id)
        assert (entry.trace_id, entry.span_id) == (runs[1]["trace_id"], runs[1]["span_id"])

        shown = subprocess.run(
            [sys.executable, "-m", "failure_handlers.cli", "show", job.id, "--json"],
            env={**os.environ, **TEST_ENV, "REDIS_URL": redis_url, "TRACE_URL_TEMPLATE": TEMPLATE},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        data = json.loads(shown.stdout)
        assert data["trace_url"] == f"https://tempo.example/trace/{entry.trace_id}"
        assert data["trace_id"] == entry.trace_id and data["span_id"] == entry.span_id
        table = subprocess.run(
            [sys.executable, "-m", "failure_handlers.cli", "show", job.id],
            env={**os.environ, **TEST_ENV, "REDIS_URL": redis_url, "TRACE_URL_TEMPLATE": TEMPLATE},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        trace_line = next(line for line in table.stdout.splitlines() if line.startswith("trace "))
        assert trace_line.split() == ["trace", entry.trace_id, "span", entry.span_id, data["trace_url"]]


def test_beside_opentelemetry_instrumentation_rq_its_span_is_the_jobs_span(redis, dlq, otel_worker):
    with otlp_receiver() as (endpoint, received):
        otel_worker(endpoint, with_instrumentor=True)
        job = dead_job(redis)
        runs = spans_of(received, "consume default", 2)

        assert [span["events"] for span in runs] == [[EVENT_RETRY], [EVENT_DEAD_LETTERED]]
        assert not [span for span in received.of_type("span") if span["name"].startswith("process ")]
        entry = dlq.get(job.id)
        assert (entry.trace_id, entry.span_id) == (runs[1]["trace_id"], runs[1]["span_id"])
