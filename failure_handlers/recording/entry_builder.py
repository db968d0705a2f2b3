"""Build a job's DLQ entry: by the failure handler at the final failure, and by the reconciler
for failures the handler never saw."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from loguru import logger
from rq.job import Job

from failure_handlers.dlq import runs
from failure_handlers.dlq.entry import MAX_RECORDED_FAILURES, DeadLetterEntry, history_json
from failure_handlers.jobs.snapshot import take_snapshot
from failure_handlers.recording.failure_record import iso, job_arguments, one_line
from failure_handlers.recording.fingerprint import fingerprint
from failure_handlers.retry.backoff import describe_schedule
from failure_handlers.retry.policy import DEFAULT_VERDICT_REASON
from failure_handlers.storage.keys import META_RETRY_BACKOFF, META_RETRY_DELAYS, META_RETRY_JITTER

HISTORY_FIELDS = (
    "attempt", "run", "requeues", "exc_type", "message", "failed_at", "worker", "retry_in", "retry_note", "decided_by",
)  # fmt: skip


def build_entry(
    *,
    record: dict[str, Any],
    history: Sequence[dict[str, Any]],
    attempts: int,
    max_retries: int,
    reason: str,
    origin: str,
    redact_keys: Sequence[str],
    job_id: str,
    func_name: str,
    queue: str,
    args: Sequence[Any] | None,
    kwargs: Mapping[str, Any] | None,
    enqueued_at: datetime | None,
    snapshot: str,
    retry_schedule: str = "",
    dropped: int = 0,
) -> DeadLetterEntry:
    """A job's entry; its last failure is `record` (a `failure_record.attempt_record`).

    The job's own fields come from `fields_of(job)` (the handler) or `safe_job_reader` (the reconciler).
    `history` is the job's records, `dropped` older ones gone (`job.meta["failures_dropped"]`): each
    history item has its `run`, and a duplicated run is marked and counted (`dlq/runs.py`).
    """
    args_json, kwargs_json = job_arguments(args, kwargs, redact_keys)
    every_run = runs.marked([_history_item(item) for item in history], dropped)
    return DeadLetterEntry(
        job_id=job_id,
        func_name=func_name,
        queue=queue,
        args=args_json,
        kwargs=kwargs_json,
        exc_type=record["exc_type"],
        exc_message=record["message"],
        traceback=record["traceback"],
        attempts=attempts,
        max_retries=max_retries,
        enqueued_at=iso(enqueued_at),
        failed_at=record["failed_at"],
        worker=record["worker"],
        reason=reason,
        failures=history_json(every_run[-MAX_RECORDED_FAILURES:]),
        fingerprint=fingerprint(record["exc_type"], record["message"], origin),
        origin=origin,
        job_snapshot=snapshot,
        retry_schedule=retry_schedule,
        duplicated_runs=runs.marked_runs(every_run),
    ).bounded()


def fields_of(job: Job) -> dict[str, Any]:
    """The job fields `build_entry` needs, from a live RQ job (reading user data may fail: then None)."""
    return {
        "job_id": job.id,
        "func_name": _safe(lambda: job.func_name) or "",
        "queue": job.origin or "",
        "args": _safe(lambda: job.args),
        "kwargs": _safe(lambda: job.kwargs),
        "enqueued_at": job.enqueued_at,
        "snapshot": _safe(lambda: take_snapshot(job)) or "",
        "retry_schedule": retry_schedule_text(job.meta),
    }


def retry_schedule_text(meta: Mapping[str, Any]) -> str:
    """`30, 60, 120s (exponential, base 30s, cap 600s; equal jitter)` from the plan in job.meta; ''
    for a job enqueued without one."""
    delays = meta.get(META_RETRY_DELAYS)
    if not isinstance(delays, list):
        return ""
    backoff, jitter = meta.get(META_RETRY_BACKOFF) or "fixed", meta.get(META_RETRY_JITTER) or "none"
    return one_line(f"{describe_schedule(delays)} ({backoff}; {jitter} jitter)", 500)


def _history_item(item: dict[str, Any]) -> dict[str, Any]:
    """One attempt for the entry's history; the full message and traceback are the entry's own.

    What says nothing is left out to keep entries small (the retry policy's fields are absent on a
    final run, `retry_note` is dropped when the delay was simply the plan, `decided_by` when no rule
    but the default decided); `job.meta` keeps every record in full.
    """
    summary = {key: value for key in HISTORY_FIELDS if (value := item.get(key)) is not None}
    summary["message"] = one_line(str(item.get("message") or ""))
    if summary.get("retry_note") == f"planned {summary.get('retry_in')}s":
        del summary["retry_note"]
    if summary.get("decided_by") == DEFAULT_VERDICT_REASON:
        del summary["decided_by"]
    return summary


def _safe(read: Callable[[], Any]) -> Any:
    """Job attributes that deserialize user data may fail; the DLQ entry is still written."""
    try:
        return read()
    except Exception as error:  # noqa: BLE001
        logger.warning("Could not read job data for the DLQ entry: {}", type(error).__name__)
        return None
