"""OpenTelemetry: a failed run's span ids for its DLQ entry, and the handler's decisions as span events
(docs/opentelemetry.md).

The job's span is the span current while the failure handler runs: the `process <queue>` span of
`TracingWorker` (failure_handlers/integration/tracing_worker.py) or the consumer span of
`opentelemetry-instrumentation-rq` around `Worker.perform_job`. Nothing is done, and the SDK is not
imported, unless the application imported OpenTelemetry's API and a span is being recorded.
Attribute names follow OpenTelemetry's messaging conventions (`messaging.system = "rq"`); ours are
under `rq.`.
"""

from __future__ import annotations

import sys
from typing import Any

from loguru import logger

MESSAGING_SYSTEM = "rq"
EVENT_RETRY = "rq.job.retry"
EVENT_DEAD_LETTERED = "rq.job.dead_lettered"


def current_span() -> Any | None:
    """The recording span of this run, or None (no OpenTelemetry, no provider, no span)."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    try:
        span = trace.get_current_span()
        return span if span.is_recording() and span.get_span_context().is_valid else None
    except Exception:  # noqa: BLE001 - tracing never stops the handler
        return None


def span_ids(span: Any | None) -> tuple[str, str]:
    """(trace_id, span_id) in hex, as trace back-ends show them; ('', '') without a span."""
    if span is None:
        return "", ""
    try:
        context = span.get_span_context()
        return format(context.trace_id, "032x"), format(context.span_id, "016x")
    except Exception:  # noqa: BLE001 - tracing never stops the handler: the entry is written without them
        return "", ""


def job_attributes(job_id: str, queue: str) -> dict[str, str]:
    """The messaging attributes of one RQ job."""
    return {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.destination.name": queue,
        "messaging.message.id": job_id,
    }


def add_retry_event(
    span: Any | None, job_id: str, queue: str, attempt: int, total: int, delay: int | None, exc_type: str, why: str
) -> None:
    """`rq.job.retry`: this run failed and the job will run again in `delay` seconds."""
    attributes: dict[str, Any] = {
        **job_attributes(job_id, queue),
        "error.type": exc_type,
        "rq.job.attempt": attempt,
        "rq.job.attempts_max": total,
        "rq.retry.decided_by": why,
    }
    if delay is not None:
        attributes["rq.retry.delay_s"] = delay
    _add_event(span, EVENT_RETRY, attributes)


def add_dead_letter_event(
    span: Any | None, job_id: str, queue: str, attempt: int, exc_type: str, reason: str, group: str
) -> None:
    """`rq.job.dead_lettered`: this run was the last; the job is in the DLQ. The span's status is set to ERROR."""
    attributes: dict[str, Any] = {
        **job_attributes(job_id, queue),
        "error.type": exc_type,
        "rq.job.attempt": attempt,
        "rq.dlq.reason": reason,
        "rq.dlq.group": group,
    }
    _add_event(span, EVENT_DEAD_LETTERED, attributes)
    if span is not None:
        try:
            from opentelemetry.trace import Status, StatusCode

            span.set_status(Status(StatusCode.ERROR, f"dead-lettered: {reason}"))
        except Exception:  # noqa: BLE001
            logger.opt(exception=True).warning("Could not set the span status of job {}", job_id)


def _add_event(span: Any | None, name: str, attributes: dict[str, Any]) -> None:
    if span is None:
        return
    try:
        span.add_event(name, attributes)
    except Exception:  # noqa: BLE001 - tracing never stops the handler
        logger.opt(exception=True).warning("Could not add the span event {}", name)
