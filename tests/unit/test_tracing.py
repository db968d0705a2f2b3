"""OpenTelemetry with the real SDK and its in-memory exporter: the job's span (TracingSimpleWorker, an
in-process worker on fakeredis), the handler's span events, the DLQ entry's trace ids and the link."""

from __future__ import annotations

import subprocess
import sys

import pytest
from rq import Queue, Retry, SimpleWorker

from failure_handlers import DeadLetterQueue
from failure_handlers.config import parse_settings
from failure_handlers.errors import ConfigError
from failure_handlers.integration import TracingSimpleWorker
from failure_handlers.telemetry.settings import TelemetrySettings
from failure_handlers.telemetry.tracing import EVENT_DEAD_LETTERED, EVENT_RETRY
from worker_tasks import enqueue

pytest.importorskip("opentelemetry.sdk")
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

EXPORTER = InMemorySpanExporter()


def always_fails():
    raise ConnectionError("upstream down")


@pytest.fixture(scope="module", autouse=True)
def provider():
    """One SDK provider for the process (OpenTelemetry allows one global provider)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(EXPORTER))
    return provider


@pytest.fixture(autouse=True)
def spans():
    EXPORTER.clear()
    yield EXPORTER
    EXPORTER.clear()


@pytest.fixture
def dlq(fake_redis):
    return DeadLetterQueue(fake_redis, "test:dlq:", 3600)


def run(fake_redis, worker_class):
    queue = Queue("billing", connection=fake_redis)
    job = enqueue(always_fails, queue=queue.name, connection=fake_redis, retry=Retry(max=1, interval=0))
    worker_class([queue], connection=fake_redis).work(burst=True)
    return job


def test_each_run_is_a_span_with_the_retry_and_the_dead_lettering_as_events(fake_redis, dlq, spans):
    job = run(fake_redis, TracingSimpleWorker)

    runs = [span for span in spans.get_finished_spans() if span.name == "process billing"]
    assert len(runs) == 2
    for span in runs:
        assert span.kind == SpanKind.CONSUMER
        assert span.attributes["messaging.system"] == "rq"
        assert span.attributes["messaging.destination.name"] == "billing"
        assert span.attributes["messaging.message.id"] == job.id
        assert span.status.status_code == StatusCode.ERROR
    first, last = runs
    assert [event.name for event in first.events] == [EVENT_RETRY]
    retry = first.events[0].attributes
    assert retry["rq.job.attempt"] == 1 and retry["rq.job.attempts_max"] == 2 and retry["rq.retry.delay_s"] == 0
    assert retry["error.type"] == "ConnectionError" and retry["messaging.system"] == "rq"
    assert [event.name for event in last.events] == [EVENT_DEAD_LETTERED]
    dead = last.events[0].attributes
    entry = dlq.get(job.id)
    assert dead["rq.dlq.reason"] == entry.reason == "retries exhausted"
    assert dead["rq.dlq.group"] == entry.fingerprint
    assert (entry.trace_id, entry.span_id) == (f"{last.context.trace_id:032x}", f"{last.context.span_id:016x}")


def test_a_run_continues_the_trace_the_producer_left_in_job_meta(fake_redis, dlq, spans):
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("enqueue") as producer:
        queue = Queue("billing", connection=fake_redis)
        job = enqueue(always_fails, queue=queue.name, connection=fake_redis, retry=Retry(max=1, interval=0))
        job.meta["traceparent"] = (
            f"00-{producer.get_span_context().trace_id:032x}-{producer.get_span_context().span_id:016x}-01"
        )
        job.save_meta()
    TracingSimpleWorker([queue], connection=fake_redis).work(burst=True)
    assert dlq.get(job.id).trace_id == f"{producer.get_span_context().trace_id:032x}"


def test_without_a_span_the_entry_has_no_trace_fields(fake_redis, dlq, spans):
    job = run(fake_redis, SimpleWorker)
    assert spans.get_finished_spans() == ()
    entry = dlq.get(job.id)
    assert entry.trace_id == entry.span_id == ""
    stored = fake_redis.hgetall(f"test:dlq:entry:{job.id}")
    assert b"exc_type" in stored and not {b"trace_id", b"span_id"} & set(stored)


def test_the_trace_link_takes_only_well_formed_ids():
    settings = TelemetrySettings("https://tempo.example/trace/{trace_id}?span={span_id}")
    assert settings.trace_url("ab" * 16, "cd" * 8) == f"https://tempo.example/trace/{'ab' * 16}?span={'cd' * 8}"
    assert settings.trace_url("") == ""
    assert settings.trace_url("javascript:alert(1)//" + "0" * 12) == ""
    assert TelemetrySettings().trace_url("ab" * 16) == ""


@pytest.mark.parametrize(
    "template, says",
    [
        ("https://tempo.example/trace/", "it must contain {trace_id}"),
        ("https://tempo.example/{trace_id}/{tenant}", "only {trace_id} and {span_id} may be in braces"),
        ("tempo.example/{trace_id}", "expected an http:// or https:// address"),
    ],
)
def test_a_template_without_trace_id_is_one_config_error(template, says):
    with pytest.raises(ConfigError, match="TRACE_URL_TEMPLATE=") as error:
        parse_settings({"TRACE_URL_TEMPLATE": template})
    assert says in str(error.value) and "\n" not in str(error.value)


def test_rq_dlq_refuses_a_bad_template_in_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "failure_handlers.cli", "list"],
        env={"TRACE_URL_TEMPLATE": "https://tempo.example/trace/", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: TRACE_URL_TEMPLATE='https://tempo.example/trace/': it must contain {trace_id}, "
        "e.g. https://tempo.example/trace/{trace_id}"
    ]


def test_the_library_never_imports_sentry(tmp_path):
    """A failing job in a process that did not initialise Sentry leaves sentry_sdk unimported, even
    installed. (OpenTelemetry's API is imported by redis-py 8 itself when the SDK is installed; without
    a recording span our hooks do nothing: see test_without_a_span_the_entry_has_no_trace_fields.)"""
    code = (
        "import sys, fakeredis\n"
        "from rq import Queue, Retry, SimpleWorker\n"
        "from worker_tasks import enqueue\n"
        "from tests.unit.test_failure_handler import always_fails\n"
        "r = fakeredis.FakeRedis()\n"
        "enqueue(always_fails, queue='q', connection=r, retry=Retry(max=1, interval=0))\n"
        "SimpleWorker([Queue('q', connection=r)], connection=r).work(burst=True)\n"
        "import failure_handlers.integration\n"
        "assert len(r.keys('*dlq*entry:*')) == 1, r.keys()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sentry_sdk'))\n"
    )
    from failure_handlers.dev.worker_process import PROJECT_ROOT

    done = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "[]"
