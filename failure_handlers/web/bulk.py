"""Bulk actions in the background, with progress, from the dashboard (`operations/bulk_runs.py`).

A confirmed requeue or delete of more than INLINE_MAX jobs (or a paced requeue) runs in a thread of
this dashboard process; its state is in Redis, so any page of any dashboard process shows it:
- `GET /bulk/<id>`: the run's page, a progress bar that polls
- `GET /api/bulk/<id>` (JSON: the counts so far, the state) and `GET /api/bulk` (the recent runs);
- `POST /bulk/<id>/cancel` (a page form, CSRF) and `POST /api/bulk/<id>/cancel` (a bearer token):
  the run stops before its next batch; what was done stays done. The role the run's action needs.
The thread calls `requeue_jobs` / `delete_ids` with the actor captured from the request that
started it; its result goes to the audit log by that actor.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

from flask import Blueprint, jsonify, redirect, url_for
from werkzeug.wrappers import Response

from failure_handlers.operations.bulk import delete_ids
from failure_handlers.operations.bulk_runs import BATCH, BulkRun, BulkRuns, RunSpec, start_run, track
from failure_handlers.operations.report import BulkReport
from failure_handlers.operations.requeue_run import RequeueOptions, requeue_jobs
from failure_handlers.web import rendering, security
from failure_handlers.web.errors import WebError
from failure_handlers.web.state import DashboardState

INLINE_MAX = 500  # a confirmed action on at most this many jobs (one batch) runs within the request
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def register(bp: Blueprint, api: Blueprint, state: DashboardState) -> None:
    @bp.get("/bulk/<run_id>")
    def bulk_run(run_id: str) -> Response:
        run = _run(state, run_id)
        return rendering.page("bulk.html", run=run, active="list")

    @bp.post("/bulk/<run_id>/cancel")
    def cancel_bulk_run(run_id: str) -> Response:
        cancel(state, run_id)
        return redirect(url_for(".bulk_run", run_id=run_id), code=303)

    @api.get("/bulk")
    def bulk_runs() -> Response:
        runs = _runs(state).recent()
        return jsonify({"runs": [run.as_json() for run in runs]})

    @api.get("/bulk/<run_id>")
    def bulk_progress(run_id: str) -> Response:
        return jsonify(_run(state, run_id).as_json())

    @api.post("/bulk/<run_id>/cancel")
    def bulk_cancel(run_id: str) -> Response:
        return jsonify(cancel(state, run_id).as_json())


def in_background(count: int, rate: float | None) -> bool:
    """Whether a confirmed action runs in the background: more than one batch, or paced."""
    return count > INLINE_MAX or rate is not None


def start(
    state: DashboardState, action: str, ids: Sequence[str], what: str, keep_job: bool = False, rate: float | None = None
) -> str:
    """Start `action` (requeue or delete) on exactly `ids` in a thread, by this request's actor (its role
    already checked); returns the run's id."""
    actor = security.actor()
    audit_action = "requeue" if action == "requeue" else ("dismiss" if keep_job else "delete")
    spec = RunSpec(audit_action, actor, what, list(dict.fromkeys(ids)))
    runs = _runs(state)
    run_id = start_run(runs, state.audit, spec)
    settings = state.settings

    def work(on_progress: Callable[[BulkReport], None], stop: Callable[[], bool]) -> BulkReport:
        if action == "requeue":
            options = RequeueOptions(
                settings.retry.max,
                settings.retry.intervals,
                settings.metrics.max_label_values,
                settings.serializer,
                batch=BATCH,
                rate=rate,
                by=actor.label(),
            )
            return requeue_jobs(
                state.connection, state.dlq, spec.ids, options, state.serializer,
                on_progress=on_progress, stop=stop, record=False,
            )  # fmt: skip
        return delete_ids(
            state.connection, state.dlq, spec.ids, keep_job=keep_job, by=actor.label(),
            batch=BATCH, on_progress=on_progress, stop=stop, record=False,
        )  # fmt: skip

    thread = threading.Thread(
        target=track, args=(runs, run_id, spec, work, state.audit), name=f"rq-dlq-bulk-{run_id[:8]}", daemon=True
    )
    thread.start()
    return run_id


def cancel(state: DashboardState, run_id: str) -> BulkRun:
    """Ask a run to stop (the role its action needs); a run whose process died is settled instead."""
    run = _run(state, run_id)
    security.require(run.action)
    runs = _runs(state)
    if run.running:
        runs.request_cancel(run_id, security.actor().label())
    else:
        runs.settle_interrupted(state.audit)  # an interrupted run is recorded as such, once
    return _run(state, run_id)


def _run(state: DashboardState, run_id: str) -> BulkRun:
    run = _runs(state).get(run_id) if _RUN_ID.match(run_id) else None
    if run is None:
        raise WebError(404, f"no bulk run {run_id[:64]!r} (its state is kept for a day)", run_id=run_id[:64])
    return run


def _runs(state: DashboardState) -> BulkRuns:
    return BulkRuns(state.connection, state.dlq.keys)
