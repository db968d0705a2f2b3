"""Page actions: requeue or delete one entry, the selected entries, or everything matching a filter.

Three steps, none of them a GET that changes anything:
1. `POST /actions/prepare` (CSRF, same origin) fixes the job ids (the selected ones still in the
   DLQ, or every match of the filter now) server-side and redirects to
2. `GET /confirm/<token>`: the confirmation page, stating the count and what was selected;
3. `POST /confirm/<token>` takes the id list (once: GETDEL) and runs the action on exactly those
   ids through the library the CLI uses, then shows requeued / skipped / errors.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Blueprint, redirect, request, url_for
from werkzeug.wrappers import Response

from failure_handlers.operations.bulk import delete_ids
from failure_handlers.operations.report import BulkReport
from failure_handlers.operations.requeue_run import RequeueOptions, requeue_jobs
from failure_handlers.web import rendering, security, selections
from failure_handlers.web.errors import WebError
from failure_handlers.web.params import parse_selection
from failure_handlers.web.selections import ACTIONS, PendingAction
from failure_handlers.web.state import DashboardState

MAX_FORM_IDS = 1_000  # ids one form may post (a page shows at most 500)
SCOPES = ("ids", "filter")
CONFIRM_SAMPLE = 20  # ids listed on the confirmation page


def register(bp: Blueprint, state: DashboardState) -> None:
    @bp.post("/actions/prepare")
    def prepare_action() -> Response:
        action, _, scope = request.form.get("do", "").partition(":")
        if action not in ACTIONS or scope not in SCOPES:
            raise WebError(400, "unknown action: expected do=requeue:ids, delete:ids, requeue:filter or delete:filter")
        security.require(action)
        if scope == "ids":
            pending = _selected(state, action, request.form.getlist("ids"))
        else:
            selection = parse_selection(request.form, state.dlq)
            ids = state.dlq.select_ids(selection.filters)  # oldest failure first, as `rq-dlq requeue` orders
            pending = PendingAction(action, ids, selection.describe())
        token = selections.save(state.connection, state.dlq.keys, pending)
        return redirect(url_for(".confirm_action", token=token), code=303)

    @bp.get("/confirm/<token>")
    def confirm_action(token: str) -> Response:
        pending = selections.peek(state.connection, state.dlq.keys, token)
        if pending is None:
            raise WebError(404, "this confirmation has expired or was already used; nothing was done")
        return rendering.page(
            "confirm.html", pending=pending, token=token, sample=pending.ids[:CONFIRM_SAMPLE], active="list"
        )

    @bp.post("/confirm/<token>")
    def run_action(token: str) -> Response:
        keep_job = request.form.get("keep_job") == "yes"
        looked = selections.peek(state.connection, state.dlq.keys, token)  # a refused role leaves it in place
        if looked is not None:
            security.require("requeue" if looked.action == "requeue" else ("dismiss" if keep_job else "delete"))
        pending = selections.take(state.connection, state.dlq.keys, token)
        if pending is None:
            raise WebError(410, "this confirmation has expired or was already used; nothing was done this time")
        if pending.action == "requeue":
            report = requeue_ids(state, pending.ids, what=pending.description)
        else:
            report = delete_as_actor(state, pending.ids, keep_job, what=pending.description)
        return rendering.page("result.html", report=report, pending=pending, active="list")


def delete_as_actor(
    state: DashboardState, ids: Sequence[str], keep_job: bool, dry_run: bool = False, what: str = ""
) -> BulkReport:
    """Delete (or dismiss, with `keep_job`) exactly `ids`, recorded in the audit log by this request's actor."""
    actor = security.actor()
    return delete_ids(
        state.connection,
        state.dlq,
        ids,
        keep_job=keep_job,
        dry_run=dry_run,
        by=actor.label(),
        audit=state.audit,
        actor=actor,
        what=what,
    )


def requeue_ids(state: DashboardState, ids: Sequence[str], dry_run: bool = False, what: str = "") -> BulkReport:
    """Requeue exactly `ids` as `rq-dlq requeue` does (fresh `RETRY_MAX` budget), by this request's
    actor (recorded in the audit log); the page actions and the API both come here."""
    actor = security.actor()
    settings = state.settings
    options = RequeueOptions(
        settings.retry.max,
        settings.retry.intervals,
        settings.metrics.max_label_values,
        settings.serializer,
        dry_run=dry_run,
        by=actor.label(),
    )
    return requeue_jobs(
        state.connection, state.dlq, ids, options, state.serializer, audit=state.audit, actor=actor, what=what
    )


def _selected(state: DashboardState, action: str, ids: list[str]) -> PendingAction:
    """The posted ids still in the DLQ (bounded), oldest failure first."""
    ids = list(dict.fromkeys(job_id for job_id in ids if job_id))
    if not ids:
        raise WebError(400, "no job selected: tick at least one row")
    if len(ids) > MAX_FORM_IDS:
        raise WebError(400, f"at most {MAX_FORM_IDS} selected jobs per action; act on a filter instead")
    entries = [entry for entry in state.dlq.get_many(ids) if entry is not None]
    entries.sort(key=lambda entry: entry.failed_at_epoch)
    what = f"job {ids[0]}" if len(ids) == 1 else f"{len(ids)} jobs selected on the list"
    return PendingAction(action, [entry.job_id for entry in entries], what, missing=len(ids) - len(entries))
