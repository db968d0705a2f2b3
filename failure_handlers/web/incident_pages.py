"""The dashboard's incident controls (page actions: CSRF, same origin, not read-only):
- the entry page's "Fix and replay" form: `POST /jobs/<id>/replay` with `step=review` validates the
  JSON and shows the diff against the stored arguments; `step=run` replays (`web/incident.py`);
- the Queues page (`GET /queues`): each queue RQ knows, its queued jobs and workers, and a Pause
  (with a reason) or Resume button (`POST /queues/<name>/pause`, `/resume`).
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from flask import Blueprint, redirect, request, url_for
from rq import Queue, Worker
from werkzeug.wrappers import Response

from failure_handlers.operations.replay import ReplayError, parse_arguments
from failure_handlers.queues.pause import paused_queues
from failure_handlers.web import incident, rendering
from failure_handlers.web.errors import WebError
from failure_handlers.web.state import DashboardState

MAX_ARGUMENT_CHARS = 64_000  # per field of the replay form


def register(bp: Blueprint, state: DashboardState) -> None:
    @bp.post("/jobs/<job_id>/replay")
    def replay(job_id: str) -> Response:
        entry = state.dlq.get(job_id)
        if entry is None:
            raise WebError(404, f"no DLQ entry for job {job_id!r} (requeued, deleted or expired?)", job_id=job_id)
        args_text, kwargs_text = (request.form.get(name, "") for name in ("args", "kwargs"))
        if len(args_text) > MAX_ARGUMENT_CHARS or len(kwargs_text) > MAX_ARGUMENT_CHARS:
            raise WebError(400, f"arguments longer than {MAX_ARGUMENT_CHARS:,} characters")
        try:
            args, kwargs = parse_arguments(args_text or "[]", kwargs_text or "{}")
        except ReplayError as error:
            raise WebError(400, str(error), job_id=job_id) from None
        body = {"args": args, "kwargs": kwargs}
        if request.form.get("step") != "run":
            stored = entry.as_json()
            incident.replay(state, job_id, {**body, "dry_run": True})  # the same checks, nothing changed
            return rendering.page(
                "replay_review.html",
                entry=entry,
                args_text=json.dumps(args),
                kwargs_text=json.dumps(kwargs),
                diff=argument_diff(
                    {"args": stored["args"], "kwargs": stored["kwargs"]}, {"args": args, "kwargs": kwargs}
                ),
                active="list",
            )
        outcome = incident.replay(state, job_id, body)
        return rendering.page("replay_result.html", outcome=outcome, active="list")

    @bp.get("/queues")
    def queues() -> Response:
        return rendering.page("queues.html", rows=queue_rows(state), active="queues")

    @bp.post("/queues/<queue>/pause")
    def pause_queue(queue: str) -> Response:
        incident.pause(state, queue, request.form.get("reason", ""))
        return redirect(url_for(".queues"), code=303)

    @bp.post("/queues/<queue>/resume")
    def resume_queue(queue: str) -> Response:
        incident.resume(state, queue)
        return redirect(url_for(".queues"), code=303)


def queue_rows(state: DashboardState) -> list[dict[str, Any]]:
    """Every queue RQ knows (and every paused one), with its queued jobs, workers and pause."""
    connection = state.connection
    paused = paused_queues(connection, state.dlq.keys)
    names = sorted({queue.name for queue in Queue.all(connection=connection)} | set(paused))
    workers: dict[str, int] = {}
    for worker in Worker.all(connection=connection):
        for name in worker.queue_names():
            workers[name] = workers.get(name, 0) + 1
    return [
        {
            "name": name,
            "queued": Queue(name, connection=connection).count,
            "workers": workers.get(name, 0),
            "paused": paused.get(name),
        }
        for name in names
    ]


def argument_diff(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
    """Line diff of the stored and the new arguments, as pretty JSON: `(kind, line)` with kind
    ' ' (same), '-' (stored), '+' (new)."""
    old = json.dumps(before, indent=2, ensure_ascii=False, sort_keys=True).splitlines()
    new = json.dumps(after, indent=2, ensure_ascii=False, sort_keys=True).splitlines()
    return [(line[0], line[2:]) for line in difflib.ndiff(old, new) if line[:1] in (" ", "-", "+")]
