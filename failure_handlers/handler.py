"""The RQ failure callback: record every attempt, classify, and dead-letter the final failure.

RQ 3.0 calls `on_failure` on EVERY failed run, before it decides on a retry, and uses the same
job object for that decision (docs/rq-behaviour.md#the-failure-callback). It must never raise:
an exception from the callback replaces the job's own traceback in RQ. So each step below is
guarded, and errors are logged and swallowed. `handle_failure` is also what the worker's exception
handler runs for jobs enqueued without the callback (`failure_handlers.integration`).

This module's dotted path is stored in every job hash enqueued with the callback
(`failure_handlers.handler.on_failure`): it must not move.
"""

from __future__ import annotations

from functools import partial
from types import TracebackType
from typing import Any

from loguru import logger
from redis import Redis
from rq.exceptions import AbandonedJobError
from rq.job import Job

from failure_handlers import runtime
from failure_handlers.dlq.keys import META_FAILURES, META_FAILURES_DROPPED, META_MAX_RETRIES
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.jobs.meta import queue_save_meta
from failure_handlers.metrics import counters
from failure_handlers.recording.cause import cause_of
from failure_handlers.recording.entry_builder import build_entry, fields_of
from failure_handlers.recording.failure_record import attempt_record, one_line
from failure_handlers.recording.fingerprint import frames_of, innermost_project_frame
from failure_handlers.retry_policy import Attempt, Verdict, attempt_of, classify, retry_delay

MAX_RECORDED_FAILURES = 25  # job.meta keeps the newest ones; older are counted as dropped


def on_failure(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """RQ failure callback; attach with `rq.Callback(on_failure)` (done by `worker_tasks.enqueue` and
    `RetryingQueue`)."""
    try:
        handle_failure(job, connection, exc_type, exc_value, traceback)
    except Exception:  # noqa: BLE001 - the callback must never raise (see module docstring)
        logger.opt(exception=True).error(
            "Failure handler error for job {}; the job's own failure is kept by RQ",
            getattr(job, "id", "?"),
        )


def handle_failure(
    job: Job,
    connection: Redis,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    traceback: TracebackType | None,
) -> None:
    """Record the attempt, classify, and dead-letter a final failure (may raise: callers guard it).

    One round trip either way: a retried attempt saves the job's meta; a final failure writes the
    meta and the DLQ entry in one pipeline.
    """
    settings = runtime.settings()
    earlier = len(job.meta.get(META_FAILURES) or ()) + int(job.meta.get(META_FAILURES_DROPPED) or 0)
    attempt = attempt_of(job.meta.get(META_MAX_RETRIES), job.retries_left, earlier)
    record = attempt_record(attempt.number, exc_type, exc_value, traceback, job.worker_name)
    if exc_type is AbandonedJobError and not record["message"]:  # RQ's cleanup passes a bare AbandonedJobError()
        record["message"] = cause_of("AbandonedJobError", "").message
    _guarded("record the attempt in job.meta", job.id, _append_attempt, job, record, attempt)

    verdict = classify(exc_type, exc_value, settings.non_retryable_exceptions)
    summary = f"{record['exc_type']}: {one_line(record['message'])}"
    if verdict.permanent and job.retries_left:
        job.retries_left = 0  # RQ reads this right after the callback: no further retries

    final = verdict.permanent or not job.retries_left
    counted = _counter_spec(job, record["exc_type"], _reason_label(verdict, attempt) if final else None)
    if final:
        dlq = DeadLetterQueue.from_settings(connection, settings)
        entry = build_entry(
            **fields_of(job),
            record=record,
            history=job.meta.get(META_FAILURES) or [record],
            attempts=attempt.number,
            max_retries=attempt.total - 1,
            reason=_reason(verdict, attempt),
            origin=innermost_project_frame(frames_of(traceback)),
            settings=settings,
        )
        save_meta = partial(queue_save_meta, job)
        if _guarded("write the DLQ entry and job.meta", job.id, dlq.add, entry, save_meta, counted):
            logger.error(
                "Job {} failed after {} attempts, moved to DLQ: {}",
                job.id,
                attempt.number,
                summary,
                job_id=job.id,
                reason=entry.reason,
            )
        return
    _guarded(
        "save job.meta and count the failure",
        job.id,
        counters.save_meta_and_count,
        connection,
        job,
        settings.dlq_prefix,
        counted,
    )
    logger.warning(
        "Job {} failed (attempt {}/{}), will retry in {}s: {}",
        job.id,
        attempt.number,
        attempt.total,
        retry_delay(job.retry_intervals, job.retries_left),
        summary,
        job_id=job.id,
    )


def _append_attempt(job: Job, record: dict[str, Any], attempt: Attempt) -> None:
    """The attempt into `job.meta`, in memory (the caller saves it)."""
    job.meta.setdefault(META_MAX_RETRIES, attempt.total - 1)  # enqueued without it: the budget seen now
    failures = list(job.meta.get(META_FAILURES, []))
    failures.append(record)
    if len(failures) > MAX_RECORDED_FAILURES:
        dropped = len(failures) - MAX_RECORDED_FAILURES
        job.meta[META_FAILURES_DROPPED] = job.meta.get(META_FAILURES_DROPPED, 0) + dropped
        failures = failures[dropped:]
    job.meta[META_FAILURES] = failures


def _reason(verdict: Verdict, attempt: Attempt) -> str:
    if verdict.permanent:
        return f"permanent: {verdict.reason}"
    return "retries exhausted" if attempt.total > 1 else "no retries configured"


def _counter_spec(job: Job, exc_type: str, dead_reason: str | None) -> str:
    """The counters of this failed run (metrics/counters.py), or '' if they cannot be built."""
    try:
        settings = runtime.settings()
        try:
            func = job.func_name
        except Exception:  # noqa: BLE001 - unreadable job data: still counted
            func = ""
        increments = counters.failure_increments(job.origin, func, exc_type, dead_reason)
        return counters.spec(settings.metrics_max_label_values, settings.metrics_max_series, increments)
    except Exception:  # noqa: BLE001 - metrics never stop the handler's own work
        logger.opt(exception=True).error("Failure handler could not build the counters for job {}", job.id)
        return ""


def _reason_label(verdict: Verdict, attempt: Attempt) -> str:
    """The `reason` label of rq_jobs_dead_lettered_total (metrics/counters.REASONS)."""
    if verdict.permanent:
        return "permanent"
    return "retries_exhausted" if attempt.total > 1 else "no_retries"


def _guarded(step: str, job_id: str, action: Any, *args: Any) -> bool:
    try:
        action(*args)
    except Exception:  # noqa: BLE001 - logged; the handler goes on with its other steps
        logger.opt(exception=True).error("Failure handler could not {} for job {}", step, job_id)
        return False
    return True
