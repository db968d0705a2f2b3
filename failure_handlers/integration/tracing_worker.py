"""`TracingWorker`: an `rq.Worker` whose every job run is an OpenTelemetry span, for workers without
`opentelemetry-instrumentation-rq` (docs/opentelemetry.md).

    rq worker default --with-scheduler -c myapp.rq_settings \\
        --worker-class failure_handlers.integration.TracingWorker \\
        --exception-handler failure_handlers.integration.record_failure

Each run is a CONSUMER span `process <queue>` (OpenTelemetry's messaging conventions,
`messaging.system = "rq"`), a child of the trace context the producer left in `job.meta` (as
`opentelemetry-instrumentation-rq` propagates it), current while the task and the failure handler
run: the handler adds its retry and dead-letter events to it and the DLQ entry stores its ids.
When `opentelemetry-instrumentation-rq` has wrapped `Worker.perform_job`, its span is the job's
span and this class adds none. Without OpenTelemetry imported by the application (a tracer
provider set in the worker's settings module), it is a plain `rq.Worker`. Like
`failure_handlers.queues.PausableWorker`, it takes no job from a paused queue (`rq-dlq pause`).
"""

from __future__ import annotations

import sys
from types import FunctionType
from typing import Any

from loguru import logger
from rq.job import Job
from rq.queue import Queue
from rq.worker import SimpleWorker, Worker

from failure_handlers.queues.worker import PauseAware
from failure_handlers.telemetry.tracing import job_attributes

FLUSH_TIMEOUT_MS = 5_000  # a work-horse exits with os._exit: its spans are exported before, at most this long
TRACER_NAME = "failure_handlers"


class _TracedRuns:
    """The span around `perform_job` (see module docstring); mixed into RQ's worker classes."""

    _is_horse: bool

    def perform_job(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> bool:
        trace = sys.modules.get("opentelemetry.trace")
        if trace is None or self._instrumented_by_opentelemetry_rq():
            return bool(super().perform_job(job, queue, *args, **kwargs))  # type: ignore[misc]
        from opentelemetry import propagate

        tracer = trace.get_tracer(TRACER_NAME)
        attributes: dict[str, Any] = {**job_attributes(job.id, queue.name), "messaging.operation.type": "process"}
        try:
            attributes["code.function.name"] = job.func_name or ""
        except Exception:  # noqa: BLE001 - unreadable job data: the span has no function name
            pass
        with tracer.start_as_current_span(
            f"process {queue.name}",
            context=propagate.extract(job.meta or {}),
            kind=trace.SpanKind.CONSUMER,
            attributes=attributes,
        ) as span:
            done = bool(super().perform_job(job, queue, *args, **kwargs))  # type: ignore[misc]
            if not done and span.is_recording():
                span.set_status(trace.Status(trace.StatusCode.ERROR))
        if self._is_horse:
            _flush(trace)
        return done

    def _instrumented_by_opentelemetry_rq(self) -> bool:
        """`opentelemetry-instrumentation-rq` wrapped the `perform_job` this class inherits: it puts
        a wrapt proxy on `rq.worker.Worker` (its `__class__` says function, its type does not);
        sentry-sdk's RqIntegration puts a plain function on `BaseWorker`, which opens no span."""
        inherited = type(self).__mro__[type(self).__mro__.index(_TracedRuns) + 1 :]
        for klass in inherited:
            found = vars(klass).get("perform_job")
            if found is not None and type(found) is not FunctionType and hasattr(found, "__wrapped__"):
                return True
        return False


class TracingWorker(_TracedRuns, PauseAware, Worker):
    """`rq.Worker` (a work-horse per job) with a span around every job run; obeys a queue pause."""


class TracingSimpleWorker(_TracedRuns, PauseAware, SimpleWorker):
    """`rq.SimpleWorker` (jobs run in the worker's own process) with a span around every job run;
    obeys a queue pause."""


def _flush(trace: Any) -> None:
    flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if flush is None:
        return
    try:
        flush(FLUSH_TIMEOUT_MS)
    except Exception:  # noqa: BLE001 - spans are the application's; the job's outcome is recorded already
        logger.opt(exception=True).warning("Could not export the job's spans")
