"""Which cause a re-recorded DLQ entry keeps: the first real one (pure code, no Redis).

A job that already has an entry can be recorded again for the same dead-lettering: RQ's cleanup of
an abandoned job calls the failure callback with a bare `AbandonedJobError` after a worker died
past our handler's write (docs/rq-behaviour.md#abandoned-jobs-and-registry-cleanup), the reconciler
records a killed work-horse or a stopped job, a second worker ran the same job after a failover.
`merge_entries` decides what the entry then says:

- the cause (`exc_type`, message, traceback, group, origin, reason, `failed_at`, worker) is the
  first REAL one: a real exception beats a synthetic cause (abandoned, work-horse killed, stopped...,
  which say what happened to the worker, not why the job failed); between two real causes, or two
  synthetic ones, the stored (first) one wins;
- the other record becomes an event of the entry (`events`: "then: abandoned ... at T");
- the runs of both histories are kept, each once, with the `run` numbers they were recorded with
  (`runs.py`; a record without one, or one a writer numbered without seeing the other history, gets
  the next number), and a run that repeats an attempt of the same retry budget (the job ran twice) is
  marked `duplicate` and counted in `duplicated_runs`.

The DLQ's write script applies the result only if the stored entry did not change meanwhile
(`store.DeadLetterQueue.add`: compare-and-set on the entry's `revision`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from failure_handlers.dlq import runs as run_numbers
from failure_handlers.dlq.entry import MAX_RECORDED_FAILURES, DeadLetterEntry, history_json
from failure_handlers.dlq.synthetic import (
    ABANDONED,
    JOB_STOPPED,
    STUCK_IN_TRANSIT,
    SYNTHETIC_CAUSES,
    UNKNOWN,
    WORK_HORSE_KILLED,
    is_synthetic,
)

# The synthetic causes are named here too, as before they moved to synthetic.py.
__all__ = [
    "ABANDONED",
    "JOB_STOPPED",
    "STUCK_IN_TRANSIT",
    "SYNTHETIC_CAUSES",
    "UNKNOWN",
    "WORK_HORSE_KILLED",
    "event_line",
    "event_lines",
    "is_synthetic",
    "merge_entries",
]
EVENT_MESSAGE_CHARS = 300
MAX_EVENTS = 10  # the newest events kept per entry
_CAUSE_FIELDS = ("exc_type", "exc_message", "traceback", "fingerprint", "origin", "reason", "failed_at", "worker")


def merge_entries(stored: DeadLetterEntry, incoming: DeadLetterEntry) -> DeadLetterEntry:
    """The entry to store when `incoming` re-records a job whose entry is `stored` (see the module doc).

    The job's own fields (arguments, snapshot, schedule) are the newer ones; the cause is the first
    real one; the losing record is an event; the histories are joined run by run.
    """
    incoming_wins = is_synthetic(stored.exc_type) and not is_synthetic(incoming.exc_type)
    winner, loser = (incoming, stored) if incoming_wins else (stored, incoming)
    merged = replace(incoming, **{name: getattr(winner, name) for name in _CAUSE_FIELDS})
    runs = _runs(_joined_history(stored, incoming), loser)
    events = _unique_events([*stored.event_history(), *incoming.event_history(), _event(loser, incoming_wins)])
    return replace(
        merged,
        attempts=max(stored.attempts, incoming.attempts, len({item[run_numbers.RUN] for item in runs})),
        max_retries=max(stored.max_retries, incoming.max_retries),
        failures=history_json(runs[-MAX_RECORDED_FAILURES:]),
        duplicated_runs=run_numbers.duplicated_runs(runs),
        events=history_json(events),
    ).bounded()


def event_line(event: dict[str, Any]) -> str:
    """`then: rq.exceptions.AbandonedJobError (abandoned) at 2026-11-29T01:20:00.000Z on worker-2: ...`"""
    worker = f" on {event['worker']}" if event.get("worker") else ""
    message = f": {event['message']}" if event.get("message") else ""
    reason = f" ({event['reason']})" if event.get("reason") else ""
    when, exc_type, at = event.get("when", "then"), event.get("exc_type", "?"), event.get("at", "?")
    return f"{when}: {exc_type}{reason} at {at}{worker}{message}"


def event_lines(events_json: object, limit: int = 3) -> list[str]:
    """The newest `limit` events of an `events` JSON text (an archived row's) as `event_line`s; []
    when there are none or the text is not a JSON list (a cut or hand-written value)."""
    try:
        events = json.loads(str(events_json or "[]"))
    except (ValueError, RecursionError):
        return []
    if not isinstance(events, list):
        return []
    return [event_line(event) for event in events if isinstance(event, dict)][-limit:]


def _runs(history: list[dict[str, Any]], loser: DeadLetterEntry) -> list[dict[str, Any]]:
    """The runs, numbered and marked (`runs.marked`): a synthetic record of an attempt a real record
    of the same budget also has (the worker died after, or was thought dead during, that run) is an
    event about that run, not a run of its own."""
    real_attempts = {_attempt(item) for item in history if not _synthetic_record(item)}
    loser_key = (loser.exc_type, loser.failed_at) if is_synthetic(loser.exc_type) else None
    runs = [
        item
        for item in history
        if not (_synthetic_record(item) and _attempt(item) in real_attempts)
        and (item.get("exc_type"), item.get("failed_at")) != loser_key
    ]
    return run_numbers.marked(runs)


def _attempt(item: dict[str, Any]) -> tuple[int, Any]:
    return run_numbers.budget_of(item), item.get("attempt")


def _synthetic_record(item: dict[str, Any]) -> bool:
    return is_synthetic(str(item.get("exc_type", "")))


def _unique_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest first, the newest MAX_EVENTS; one synthetic event per kind and worker (RQ's cleanup
    runs both the callback and the exception handlers of a job: the same abandonment twice)."""
    kept: dict[tuple[Any, ...], dict[str, Any]] = {}
    for event in sorted(events, key=lambda event: str(event.get("at", ""))):
        exc_type = str(event.get("exc_type", ""))
        key = (event.get("when"), exc_type, event.get("worker")) if is_synthetic(exc_type) else (json.dumps(event),)
        kept.setdefault(key, event)
    return list(kept.values())[-MAX_EVENTS:]


def _joined_history(stored: DeadLetterEntry, incoming: DeadLetterEntry) -> list[dict[str, Any]]:
    """Both histories' records, each once (with the run number it had first), in the order they failed."""
    items = [dict(item) for item in (*stored.attempt_history(), *incoming.attempt_history()) if isinstance(item, dict)]
    kept: dict[str, dict[str, Any]] = {}
    for item in items:
        item.pop(run_numbers.DUPLICATE, None)  # marked again over the joined runs
        content = {key: value for key, value in item.items() if key != run_numbers.RUN}
        kept.setdefault(json.dumps(content, sort_keys=True, ensure_ascii=False), item)
    return sorted(kept.values(), key=lambda item: str(item.get("failed_at", "")))


def _event(entry: DeadLetterEntry, recorded_first: bool) -> dict[str, Any]:
    return {
        "when": "first recorded as" if recorded_first else "then",
        "exc_type": entry.exc_type,
        "message": " ".join(entry.exc_message.split())[:EVENT_MESSAGE_CHARS],
        "reason": entry.reason,
        "at": entry.failed_at,
        "worker": entry.worker,
    }
