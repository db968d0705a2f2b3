"""The attempt history of a job that failed without our handler writing its DLQ entry (pure code).

Two sources, best first:
1. `job.meta`, when our enqueue stored the retry budget (`max_retries`) or our handler (callback
   or worker exception handler) recorded earlier runs and only the last one escaped it (work-horse
   killed, stopped, abandoned, or the DLQ write failed): the run number follows from the budget
   and RQ's `retries_left`, in the retry budget of the job's last requeue (`requeues`); the
   recovered run is numbered after the recorded ones (`dlq/runs.py`);
2. RQ 3.0's own results stream, when the handler never saw the job: one record per run RQ kept a
   result for. RQ 3.0 writes a result when a run ends the job (FAILED, STOPPED) or when the job
   returns `rq.Retry` (RETRIED, MAX_RETRIES_EXCEEDED), but none for a run that raised and was retried by `Retry(max=…)`
   (docs/rq-behaviour.md#results): such entries count the runs RQ recorded, a lower bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from failure_handlers.dlq.runs import budget_of, number_record
from failure_handlers.jobs.safe_reader import RecordedRun
from failure_handlers.recording.cause import Cause, cause_of
from failure_handlers.recording.failure_record import (
    MAX_MESSAGE_CHARS,
    MAX_TRACEBACK_CHARS,
    iso,
    truncate,
    utc_now_iso,
)

FAILED_RUN_KINDS = frozenset({"FAILED", "STOPPED", "RETRIED", "MAX_RETRIES_EXCEEDED"})
HANDLER_WRITE_FAILED = "failed; the failure handler could not write the DLQ"


@dataclass(frozen=True)
class RecoveredFailure:
    record: dict[str, Any]  # the final run, as `failure_record.attempt_record` shapes it
    history: list[dict[str, Any]]
    attempts: int
    max_retries: int
    reason: str
    dropped: int = 0  # records of earlier runs dropped from job.meta (the history's runs count them)


def recover_failure(
    *,
    status: str,
    meta_history: Sequence[Any],
    meta_max_retries: int | None,
    retries_left: int | None,
    runs: Sequence[RecordedRun],
    ended_at: datetime | None,
    worker: str,
    meta_dropped: int = 0,
    requeues: int = 0,
) -> RecoveredFailure:
    """What the DLQ entry of a job RQ failed without our handler says about its runs.

    `meta_dropped`: `job.meta["failures_dropped"]`; `requeues`: `job.meta["requeue_count"]`.
    """
    history = [item for item in meta_history if isinstance(item, dict)]
    if history or meta_max_retries is not None:
        budget = _Budget(meta_max_retries or 0, retries_left, max(0, requeues), max(0, meta_dropped))
        return _from_meta(history, status, budget, runs, ended_at, worker)
    failed = [run for run in runs if run.kind in FAILED_RUN_KINDS]
    if not failed:
        latest = runs[-1].exc_string if runs else ""
        record = {**_record(1, cause_of(latest, status), latest, ended_at, worker), "run": 1}
        return RecoveredFailure(record, [record], 1, 0, cause_of(latest, status).reason)
    records = [
        {**_record(n, cause_of(run.exc_string, "stopped" if run.kind == "STOPPED" else ""), run.exc_string,
                   run.ended_at, run.worker), "run": n}
        for n, run in enumerate(failed, start=1)
    ]  # fmt: skip
    final = cause_of(failed[-1].exc_string, status)
    retried = retries_left is not None  # RQ writes retries_left only for jobs enqueued with a Retry
    return RecoveredFailure(records[-1], records, len(records), len(records) - 1 if retried else 0, final.reason)


@dataclass(frozen=True)
class _Budget:
    """What job.meta and RQ say about the runs: the budget, what is left, the requeues, the dropped records."""

    max_retries: int
    retries_left: int | None
    requeues: int
    dropped: int


def _from_meta(
    history: list[dict[str, Any]],
    status: str,
    budget: _Budget,
    runs: Sequence[RecordedRun],
    ended_at: datetime | None,
    worker: str,
) -> RecoveredFailure:
    max_retries = budget.max_retries
    attempts = max_retries - (budget.retries_left or 0) + 1 if max_retries else max(len(history), 1)
    handled = next(
        (item for item in reversed(history) if item.get("attempt") == attempts and budget_of(item) == budget.requeues),
        None,
    )
    if handled is not None:  # the handler saw the last run too: only its DLQ write failed
        return RecoveredFailure(handled, history, attempts, max_retries, HANDLER_WRITE_FAILED, budget.dropped)
    latest = runs[-1].exc_string if runs else ""
    cause = cause_of(latest, status)
    record = _record(attempts, cause, latest, ended_at, worker)
    number_record(record, history, budget.dropped, budget.requeues)
    return RecoveredFailure(record, [*history, record], attempts, max_retries, cause.reason, budget.dropped)


def _record(attempt: int, cause: Cause, exc_string: str, ended_at: datetime | None, worker: str) -> dict[str, Any]:
    return {
        "attempt": attempt,
        "exc_type": cause.exc_type,
        "message": truncate(cause.message, MAX_MESSAGE_CHARS),
        "traceback": truncate(exc_string, MAX_TRACEBACK_CHARS, keep="tail"),
        "failed_at": iso(ended_at) or utc_now_iso(),
        "worker": worker,
    }
