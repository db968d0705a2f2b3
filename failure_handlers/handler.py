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

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any, TypeVar

from loguru import logger
from redis import Redis
from rq.exceptions import AbandonedJobError
from rq.job import Job

from failure_handlers import runtime
from failure_handlers.archive.settings import ArchiveSettings
from failure_handlers.config import Settings
from failure_handlers.dlq.entry import MAX_RECORDED_FAILURES, DeadLetterEntry
from failure_handlers.dlq.runs import number_record
from failure_handlers.dlq.settings import DlqSettings
from failure_handlers.dlq.store import DeadLetterQueue, Written
from failure_handlers.jobs.meta import FinalMetaSave, final_meta_save
from failure_handlers.metrics import counters
from failure_handlers.recording.cause import cause_of
from failure_handlers.recording.entry_builder import build_entry, fields_of
from failure_handlers.recording.failure_record import attempt_record, one_line
from failure_handlers.recording.fingerprint import frames_of, innermost_project_frame
from failure_handlers.retry.backoff import Jitter, describe_schedule, parse_jitter
from failure_handlers.retry.policy import Attempt, NextDelay, Verdict, attempt_of, classify, intervals_with, next_delay
from failure_handlers.retry.rules import task_rules_of
from failure_handlers.retry.settings import RetrySettings
from failure_handlers.sentinel_connection import primary_moved
from failure_handlers.storage.keys import (
    META_FAILURES,
    META_FAILURES_DROPPED,
    META_MAX_RETRIES,
    META_REQUEUE_COUNT,
    META_RETRY_DELAYS,
    META_RETRY_JITTER,
)
from failure_handlers.telemetry import sentry, tracing

T = TypeVar("T")


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
    meta and the DLQ entry in one command (the `add` script saves the meta first).
    """
    settings = runtime.settings()
    recorded, dropped = list(job.meta.get(META_FAILURES) or ()), _count(job.meta.get(META_FAILURES_DROPPED))
    attempt = attempt_of(job.meta.get(META_MAX_RETRIES), job.retries_left, len(recorded) + dropped)
    record = attempt_record(attempt.number, exc_type, exc_value, traceback, job.worker_name)
    if exc_type is AbandonedJobError and not record["message"]:  # RQ's cleanup passes a bare AbandonedJobError()
        record["message"] = cause_of("AbandonedJobError", "").message
    requeues = _count(job.meta.get(META_REQUEUE_COUNT))
    _guarded("number the run", job.id, number_record, record, recorded, dropped, requeues)

    verdict = _classify(job, exc_type, exc_value, settings.retry)
    record["decided_by"] = verdict.reason
    summary = f"{record['exc_type']}: {one_line(record['message'])}"
    if verdict.permanent and job.retries_left:
        job.retries_left = 0  # RQ reads this right after the callback: no further retries

    final = verdict.permanent or not job.retries_left
    delay = None if final else _next_delay(job, exc_value, settings.retry, record)
    _guarded("record the attempt in job.meta", job.id, _append_attempt, job, record, attempt)
    counted = _counter_spec(job, record["exc_type"], _reason_label(verdict, attempt) if final else None)
    span = tracing.current_span()
    if final:
        dlq = dead_letter_queue(connection, settings)
        entry = build_entry(
            **fields_of(job),
            record=record,
            history=job.meta.get(META_FAILURES) or [record],
            dropped=_count(job.meta.get(META_FAILURES_DROPPED)),
            attempts=attempt.number,
            max_retries=attempt.total - 1,
            reason=_reason(verdict, attempt),
            origin=innermost_project_frame(frames_of(traceback)),
            redact_keys=settings.redact_keys,
        )
        if span is not None:
            trace_id, span_id = tracing.span_ids(span)
            entry = replace(entry, trace_id=trace_id, span_id=span_id).bounded()
        write = partial(_write_dead_letter, dlq, job.id)
        written = _guarded_value(
            "write the DLQ entry and job.meta", job.id, write, entry, final_meta_save(job), counted
        )
        if written is not None:
            if written.short_of_replicas:
                _warn_short_of_replicas(job.id, written, dlq.wait_timeout_ms)
            link = sentry.entry_link(settings.alerts.dashboard_url, job.id)
            sentry.note_dead_letter(job.id, entry.fingerprint, link)
            tracing.add_dead_letter_event(
                span, job.id, entry.queue, attempt.number, entry.exc_type, entry.reason, entry.fingerprint
            )
            logger.error(  # with Sentry, its exception event is this job's one event: not this line (sentry.py)
                "Job {} failed after {} attempts, moved to DLQ: {}",
                job.id,
                attempt.number,
                summary,
                job_id=job.id,
                reason=entry.reason,
                **{sentry.DLQ_LINE_EXTRA: entry.fingerprint},
            )
        return
    _guarded(
        "save job.meta and count the failure",
        job.id,
        counters.save_meta_and_count,
        connection,
        job,
        settings.dlq.prefix,
        counted,
    )
    tracing.add_retry_event(
        span,
        job.id,
        job.origin or "",
        attempt.number,
        attempt.total,
        delay.actual if delay else None,
        record["exc_type"],
        verdict.reason,
    )
    logger.warning(
        "Job {} failed (attempt {}/{}), will retry in {}s [{}; schedule {}]: {}",
        job.id,
        attempt.number,
        attempt.total,
        delay.actual if delay else "?",
        delay.note if delay else "delay unknown",
        describe_schedule(job.meta.get(META_RETRY_DELAYS) or ()),
        summary,
        job_id=job.id,
    )


# The DLQ the last final failure of this process wrote to, with what it was built from (one tuple at most).
_last_dlq: list[tuple[Redis, DlqSettings, ArchiveSettings, DeadLetterQueue]] = []


def dead_letter_queue(connection: Redis, settings: Settings) -> DeadLetterQueue:
    """The configured DLQ on `connection`: one object per (connection, settings), reused by the final
    failures of a process rather than built for each (it holds no state besides those).

    Only the last one is kept, and only for the very same connection object (`is`): another
    connection, or settings that differ, build a new one in its place. A forked work-horse inherits
    its parent's, on the parent's connection object, whose pool redis-py resets after a fork."""
    for held, dlq_settings, archive_settings, dlq in _last_dlq:
        if held is connection and _same(dlq_settings, settings.dlq) and _same(archive_settings, settings.archive):
            return dlq
    dlq = DeadLetterQueue.from_settings(connection, settings.dlq, settings.archive)
    _last_dlq[:] = [(connection, settings.dlq, settings.archive, dlq)]
    return dlq


def _same(kept: object, current: object) -> bool:
    """Equal settings; the very same object (the usual case: settings are loaded once) without comparing."""
    return kept is current or kept == current


def _classify(
    job: Job, exc_type: type[BaseException] | None, exc_value: BaseException | None, settings: RetrySettings
) -> Verdict:
    """The policy's verdict with the task's own `@task(permanent_on/retry_on)` rules; without them if
    they cannot be read (an unimportable task here), never an error."""
    try:
        rules = task_rules_of(job.func_name)
    except Exception:  # noqa: BLE001 - unreadable job data: the configured rules still apply
        rules = task_rules_of(None)
    return classify(
        exc_type,
        exc_value,
        settings.non_retryable_exceptions,
        permanent_patterns=settings.permanent_message_patterns,
        retryable_patterns=settings.retryable_message_patterns,
        task_rules=rules,
    )


def _next_delay(
    job: Job, exc_value: BaseException | None, settings: RetrySettings, record: dict[str, Any]
) -> NextDelay | None:
    """Choose the coming retry's delay and hand it to RQ, which reads `job.retry_intervals` right after
    the handlers (docs/rq-behaviour.md#the-failure-callback). Always from the ORIGINAL schedule kept in
    job.meta (saved there on the first failure of a job enqueued without it), never from a list an
    earlier attempt changed. On any error RQ keeps the intervals it has: the planned delay."""
    try:
        schedule = _original_schedule(job)
        delay = next_delay(
            schedule,
            job.retries_left or 0,
            exc_value,
            jitter=_jitter_of(job, settings.jitter),
            retry_after_max=settings.after_max,
            now=datetime.now(UTC),
        )
        job.retry_intervals = intervals_with(schedule, job.retries_left or 0, delay.actual)
    except Exception:  # noqa: BLE001 - the delay is a refinement; the retry itself must happen
        logger.opt(exception=True).error("Failure handler could not choose the retry delay for job {}", job.id)
        return None
    record["retry_in"], record["retry_note"] = delay.actual, delay.note
    return delay


def _original_schedule(job: Job) -> list[int]:
    stored = job.meta.get(META_RETRY_DELAYS)
    if isinstance(stored, list) and all(isinstance(v, int | float) and v >= 0 for v in stored):
        return [int(v) for v in stored]
    schedule = [int(v) for v in job.retry_intervals or ()]
    job.meta[META_RETRY_DELAYS] = schedule  # saved with this attempt: later attempts start from it
    return schedule


def _jitter_of(job: Job, configured: Jitter) -> Jitter:
    try:
        return parse_jitter(job.meta[META_RETRY_JITTER])
    except (KeyError, ValueError):
        return configured


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


def _count(value: Any) -> int:
    """A count kept in job.meta (records dropped, requeues); 0 if absent or garbled."""
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def _reason(verdict: Verdict, attempt: Attempt) -> str:
    if verdict.permanent:
        return f"permanent: {verdict.reason}"
    return "retries exhausted" if attempt.total > 1 else "no retries configured"


def _counter_spec(job: Job, exc_type: str, dead_reason: str | None) -> str:
    """The counters of this failed run (metrics/counters.py), or '' if they cannot be built."""
    try:
        settings = runtime.settings()
        try:
            func = job.func_name or ""
        except Exception:  # noqa: BLE001 - unreadable job data: still counted
            func = ""
        metrics = settings.metrics
        return counters.failure_spec(
            metrics.max_label_values, metrics.max_series, job.origin or "", func, exc_type, dead_reason
        )
    except Exception:  # noqa: BLE001 - metrics never stop the handler's own work
        logger.opt(exception=True).error("Failure handler could not build the counters for job {}", job.id)
        return ""


def _reason_label(verdict: Verdict, attempt: Attempt) -> str:
    """The `reason` label of rq_jobs_dead_lettered_total (metrics/counters.REASONS)."""
    if verdict.permanent:
        return "permanent"
    return "retries_exhausted" if attempt.total > 1 else "no_retries"


def _write_dead_letter(
    dlq: DeadLetterQueue, job_id: str, entry: DeadLetterEntry, meta: FinalMetaSave, counted: str
) -> Written:
    """The final failure's write (entry, job.meta, counters, then WAIT). Acknowledged by too few replicas
    while the Sentinels came to name another primary, it went to a primary being replaced, which drops it
    when it resyncs as a replica (split brain after a freeze): written once more, to the new primary.

    A write refused (`NOREPLICAS`, `READONLY`) or cut by a failover is retried by the connection itself
    (`runtime.failover_retry`, `sentinel_connection.py`)."""
    written = dlq.add_replicated(entry, meta, counted)
    if written.short_of_replicas and primary_moved(dlq.connection):
        logger.warning(
            "Job {} dead-lettered on a primary the Sentinels no longer name ({} of {} replicas acknowledged): "
            "written again to the new primary",
            job_id,
            written.replicas,
            written.wanted,
            job_id=job_id,
        )
        written = dlq.add_replicated(entry, meta, counted)
    return written


def _warn_short_of_replicas(job_id: str, written: Written, timeout_ms: int) -> None:
    """DLQ_WAIT_REPLICAS not met: the entry is on the primary only (a failover now could lose it)."""
    why = f" (WAIT failed: {one_line(written.wait_error)})" if written.wait_error else f" within {timeout_ms} ms"
    logger.warning(
        "Job {} dead-lettered, but {} of {} replicas acknowledged the DLQ entry{}: it is on the primary only",
        job_id,
        written.replicas,
        written.wanted,
        why,
        job_id=job_id,
    )


def _guarded(step: str, job_id: str, action: Any, *args: Any) -> bool:
    try:
        action(*args)
    except Exception:  # noqa: BLE001 - logged; the handler goes on with its other steps
        logger.opt(exception=True).error("Failure handler could not {} for job {}", step, job_id)
        return False
    return True


def _guarded_value(step: str, job_id: str, action: Callable[..., T], *args: Any) -> T | None:
    """`_guarded`, returning the action's value (None when it failed)."""
    try:
        return action(*args)
    except Exception:  # noqa: BLE001 - logged; the handler goes on with its other steps
        logger.opt(exception=True).error("Failure handler could not {} for job {}", step, job_id)
        return None
