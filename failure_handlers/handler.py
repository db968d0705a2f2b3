"""The RQ failure callback: record every attempt, classify, and dead-letter the final failure.

RQ 3.0 calls `on_failure` on EVERY failed run, before it decides on a retry, and uses the same
job object for that decision (see ../shared/RQ_FACTS.md). It must never raise: an exception
from the callback replaces the job's own traceback in RQ. So each step below is guarded, and
errors are logged and swallowed.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import Any

from loguru import logger
from redis import Redis
from rq.job import Job

from . import runtime
from .config import Settings
from .dead_letter_entry import DeadLetterEntry
from .dead_letter_queue import DeadLetterQueue
from .failure_record import (
    attempt_record,
    exception_message,
    exception_type_name,
    iso,
    job_arguments,
    one_line,
)
from .fingerprint import fingerprint, frames_of, innermost_project_frame
from .job_snapshot import take_snapshot
from .retry_policy import Attempt, Verdict, attempt_of, classify, retry_delay

MAX_RECORDED_FAILURES = 25  # job.meta keeps the newest ones; older are counted as dropped
META_FAILURES = "failures"
META_FAILURES_DROPPED = "failures_dropped"
META_MAX_RETRIES = "max_retries"


def on_failure(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """RQ failure callback; attach with `rq.Callback(on_failure)` (done by `worker_tasks.enqueue`)."""
    try:
        _handle(job, connection, exc_type, exc_value, traceback)
    except Exception:  # noqa: BLE001 - the callback must never raise (see module docstring)
        logger.opt(exception=True).error(
            "Failure handler error for job {}; the job's own failure is kept by RQ",
            getattr(job, "id", "?"),
        )


def _handle(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    settings = runtime.settings()
    attempt = attempt_of(job.meta.get(META_MAX_RETRIES), job.retries_left)
    record = attempt_record(attempt.number, exc_type, exc_value, traceback, job.worker_name)
    _guarded("record the attempt in job.meta", job.id, _record_attempt, job, record)

    verdict = classify(exc_type, exc_value, settings.non_retryable_exceptions)
    summary = f"{exception_type_name(exc_type)}: {one_line(exception_message(exc_value))}"
    if verdict.permanent and job.retries_left:
        job.retries_left = 0  # RQ reads this right after the callback: no further retries

    if verdict.permanent or not job.retries_left:
        dlq = DeadLetterQueue.from_settings(connection, settings)
        entry = _dead_letter_entry(job, attempt, verdict, record, frames_of(traceback), settings)
        if _guarded("write the DLQ entry", job.id, dlq.add, entry):
            logger.bind(job_id=job.id, reason=entry.reason).error(
                "Job {} failed after {} attempts, moved to DLQ: {}", job.id, attempt.number, summary
            )
        return
    delay = retry_delay(job.retry_intervals, job.retries_left)
    logger.bind(job_id=job.id).warning(
        "Job {} failed (attempt {}/{}), will retry in {}s: {}",
        job.id,
        attempt.number,
        attempt.total,
        delay,
        summary,
    )


def _record_attempt(job: Job, record: dict[str, Any]) -> None:
    failures = list(job.meta.get(META_FAILURES, []))
    failures.append(record)
    if len(failures) > MAX_RECORDED_FAILURES:
        dropped = len(failures) - MAX_RECORDED_FAILURES
        job.meta[META_FAILURES_DROPPED] = job.meta.get(META_FAILURES_DROPPED, 0) + dropped
        failures = failures[dropped:]
    job.meta[META_FAILURES] = failures
    job.save_meta()


def _dead_letter_entry(
    job: Job,
    attempt: Attempt,
    verdict: Verdict,
    record: dict[str, Any],
    frames: list[tuple[str, str]],
    settings: Settings,
) -> DeadLetterEntry:
    args, kwargs = job_arguments(_safe(lambda: job.args), _safe(lambda: job.kwargs), settings.redact_keys)
    origin = innermost_project_frame(frames)
    history = [
        {key: failure.get(key) for key in ("attempt", "exc_type", "message", "failed_at", "worker")}
        for failure in job.meta.get(META_FAILURES, [record])
    ]
    return DeadLetterEntry(
        job_id=job.id,
        func_name=_safe(lambda: job.func_name) or "",
        queue=job.origin or "",
        args=args,
        kwargs=kwargs,
        exc_type=record["exc_type"],
        exc_message=record["message"],
        traceback=record["traceback"],
        attempts=attempt.number,
        max_retries=attempt.total - 1,
        enqueued_at=iso(job.enqueued_at),
        failed_at=record["failed_at"],
        worker=record["worker"],
        reason=_reason(verdict, attempt),
        failures=json.dumps(history, ensure_ascii=False),
        fingerprint=fingerprint(record["exc_type"], record["message"], origin),
        origin=origin,
        job_snapshot=_safe(lambda: take_snapshot(job)) or "",
    )


def _reason(verdict: Verdict, attempt: Attempt) -> str:
    if verdict.permanent:
        return f"permanent: {verdict.reason}"
    return "retries exhausted" if attempt.total > 1 else "no retries configured"


def _safe(read: Any) -> Any:
    """Job attributes that deserialize user data may fail; the DLQ entry is still written."""
    try:
        return read()
    except Exception as error:  # noqa: BLE001
        logger.warning("Could not read job data for the DLQ entry: {}", type(error).__name__)
        return None


def _guarded(step: str, job_id: str, action: Any, *args: Any) -> bool:
    try:
        action(*args)
    except Exception:  # noqa: BLE001 - logged; the handler goes on with its other steps
        logger.opt(exception=True).error("Failure handler could not {} for job {}", step, job_id)
        return False
    return True
