"""Incident controls over the library, for the API and the pages: replay one dead job with edited
arguments (`operations/replay.py`) and pause / resume a queue (`queues/pause.py`). Each checks the
request's role first (403 otherwise) and, once done, records the action in the audit log by its
actor (a dry run records nothing)."""

from __future__ import annotations

from typing import Any

from failure_handlers.operations.replay import ReplayError, check_replay, replay_job
from failure_handlers.operations.requeue import Outcome
from failure_handlers.operations.requeue_run import RequeueOptions
from failure_handlers.queues.pause import PauseChange, pause_queue, resume_queue
from failure_handlers.web import security
from failure_handlers.web.errors import WebError
from failure_handlers.web.state import DashboardState

REPLAY_FIELDS = {"args", "kwargs", "dry_run"}


def replay(state: DashboardState, job_id: str, body: Any) -> Outcome:
    """`POST /api/failed-jobs/<id>/replay` and the entry page's form: `{"args": [...], "kwargs": {...}}`."""
    security.require("replay")
    if not isinstance(body, dict):
        raise WebError(400, 'expected a JSON object body, e.g. {"args": [1], "kwargs": {"limit": 10}}')
    unknown = sorted(set(body) - REPLAY_FIELDS)
    if unknown:
        raise WebError(400, f"unknown field(s): {', '.join(unknown)}", allowed=sorted(REPLAY_FIELDS))
    args, kwargs, dry_run = body.get("args"), body.get("kwargs"), body.get("dry_run", False)
    if args is not None and not isinstance(args, list):
        raise WebError(400, "args: expected a JSON array")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise WebError(400, "kwargs: expected a JSON object")
    if not isinstance(dry_run, bool):
        raise WebError(400, "dry_run: expected true or false")
    settings = state.settings
    try:
        plan = check_replay(state.connection, state.dlq, job_id, args, kwargs, settings.serializer)
    except ReplayError as error:
        status = 404 if str(error).startswith("no DLQ entry") else 400
        raise WebError(status, str(error), job_id=job_id) from None
    options = RequeueOptions(
        settings.retry.max,
        settings.retry.intervals,
        settings.metrics.max_label_values,
        settings.serializer,
        dry_run=dry_run,
        by=security.actor().label(),
    )
    return replay_job(state.connection, state.dlq, plan, options, state.serializer, state.audit, security.actor())


def pause(state: DashboardState, queue: str, reason: str) -> PauseChange:
    security.require("pause")
    by = security.actor()
    return pause_queue(state.connection, state.dlq.keys, queue, reason, by.label(), audit=state.audit, actor=by)


def resume(state: DashboardState, queue: str) -> PauseChange:
    security.require("resume")
    return resume_queue(state.connection, state.dlq.keys, queue, audit=state.audit, actor=security.actor())
