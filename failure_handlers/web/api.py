"""The JSON API under `/api/`: the list's filters and paging as query parameters, one entry, the
statistics, the groups, bulk requeue / delete (a JSON body with `ids` or a `filter`), and the
failure archive's history with `rq-dlq history`'s filters.

Reads need what the pages need (Basic, when `DASHBOARD_AUTH` is set) or the API token; writes need
`Authorization: Bearer <DASHBOARD_API_TOKEN>` (see `security.py`). Errors are JSON:
`{"error": ..., "status": ...}` plus details (`known` values for an unknown filter value).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, jsonify, request

from failure_handlers.jobs.status import job_status
from failure_handlers.queues.pause import paused_queues
from failure_handlers.web import export, incident, security
from failure_handlers.web.actions import delete_as_actor, requeue_ids
from failure_handlers.web.activity import read_activity
from failure_handlers.web.errors import WebError
from failure_handlers.web.history import read_history, read_stats
from failure_handlers.web.listing import read_page
from failure_handlers.web.overview import build_overview, overview_json
from failure_handlers.web.params import parse_selection
from failure_handlers.web.state import DashboardState

ACTION_NAMES = ("requeue", "delete")
MAX_API_IDS = 100_000
BODY_FIELDS = {
    "requeue": {"ids", "filter", "all", "dry_run"},
    "delete": {"ids", "filter", "all", "dry_run", "keep_job"},
}


def register(api: Blueprint, state: DashboardState) -> None:
    @api.get("/failed-jobs")
    def failed_jobs() -> Response:
        page = read_page(state, request.args)
        entries = [
            {**entry.as_json(), "job_status": status} for entry, status in zip(page.entries, page.statuses, strict=True)
        ]
        return jsonify({**_paging(page), "entries": entries})

    @api.get("/failed-jobs/<job_id>")
    def failed_job(job_id: str) -> Response:
        if job_id in ACTION_NAMES:
            raise WebError(405, f"{job_id} is an action: use POST")
        entry = state.dlq.get(job_id)
        if entry is None:
            raise WebError(404, f"no DLQ entry for job {job_id!r}", job_id=job_id)
        return jsonify({**entry.as_json(), "job_status": job_status(state.connection, job_id)})

    @api.get("/failed-jobs.csv")
    def export_csv() -> Response:
        return export.csv_response(state.dlq, parse_selection(request.args, state.dlq))

    @api.get("/failed-jobs.json")
    def export_json() -> Response:
        return export.json_response(state.dlq, parse_selection(request.args, state.dlq))

    @api.get("/stats")
    def stats() -> Response:
        return jsonify(overview_json(build_overview(state)))

    @api.get("/groups")
    def groups() -> Response:
        figures = state.dlq.stats(top_groups=len(state.dlq.known_values("group")) or 1)
        return jsonify({"total": len(figures.groups), "groups": [asdict(group) for group in figures.groups]})

    @api.get("/history")
    def history() -> Response:
        page = read_history(state, request.args, with_traceback=True)
        return jsonify({**_paging(page), "by_outcome": page.by_outcome, "rows": page.rows})

    @api.get("/history/stats")
    def history_stats() -> Response:
        return jsonify(read_stats(state, request.args))

    @api.get("/audit")
    def audit() -> Response:
        records = read_activity(state, request.args)
        return jsonify({"total": len(records), "records": [record.as_json() for record in records]})

    @api.post("/failed-jobs/requeue")
    def requeue() -> Response:
        security.require("requeue")
        body = _body("requeue")
        ids, what = _ids(state, body)
        report = requeue_ids(state, ids, _flag(body, "dry_run"), what=what)
        return jsonify(report.as_json())

    @api.post("/failed-jobs/<job_id>/replay")
    def replay(job_id: str) -> Response:
        outcome = incident.replay(state, job_id, request.get_json(silent=True))
        status = 409 if outcome.result.value == "skipped" else 400 if outcome.result.value == "error" else 200
        return _outcome_response(outcome, status)

    @api.get("/queues/paused")
    def queues_paused() -> Response:
        states = sorted(paused_queues(state.connection, state.dlq.keys).values(), key=lambda s: s.queue)
        return jsonify({"paused": [pause_state.as_json() for pause_state in states]})

    @api.post("/queues/<queue>/pause")
    def pause(queue: str) -> Response:
        body = request.get_json(silent=True) or {}
        reason = body.get("reason", "") if isinstance(body, dict) else ""
        if not isinstance(reason, str):
            raise WebError(400, "reason: expected a string")
        change = incident.pause(state, queue, reason)
        return jsonify({"queue": change.queue, "action": change.action, "queued": change.queued})

    @api.post("/queues/<queue>/resume")
    def resume(queue: str) -> Response:
        change = incident.resume(state, queue)
        return jsonify({"queue": change.queue, "action": change.action, "queued": change.queued})

    @api.post("/failed-jobs/delete")
    def delete() -> Response:
        raw = request.get_json(silent=True)
        keep_job = isinstance(raw, dict) and raw.get("keep_job") is True
        security.require("dismiss" if keep_job else "delete")
        body = _body("delete")
        ids, what = _ids(state, body)
        report = delete_as_actor(state, ids, keep_job, _flag(body, "dry_run"), what=what)
        return jsonify(report.as_json())


def _outcome_response(outcome: Any, status: int) -> Response:
    response = jsonify({"job_id": outcome.job_id, "result": outcome.result.value, "detail": outcome.detail})
    response.status_code = status
    return response


def _body(action: str) -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise WebError(
            400, 'expected a JSON object body, e.g. {"ids": ["<job id>"]} or {"filter": {"queue": "billing"}}'
        )
    unknown = sorted(set(body) - BODY_FIELDS[action])
    if unknown:
        raise WebError(400, f"unknown field(s): {', '.join(unknown)}", allowed=sorted(BODY_FIELDS[action]))
    if ("ids" in body) == ("filter" in body):
        raise WebError(400, "give exactly one of ids (a list of job ids) or filter (an object)")
    return body


def _ids(state: DashboardState, body: dict[str, Any]) -> tuple[list[str], str]:
    """The bounded id list the action runs on: the given ids, or every match of the filter now; and
    how they were chosen (for the audit log)."""
    if "ids" in body:
        ids = body["ids"]
        if not isinstance(ids, list) or not all(isinstance(job_id, str) for job_id in ids):
            raise WebError(400, "ids: expected a list of job id strings")
        if not ids or len(ids) > MAX_API_IDS:
            raise WebError(400, f"ids: expected 1 to {MAX_API_IDS:,} job ids")
        return ids, "ids given"
    if not isinstance(body["filter"], dict):
        raise WebError(400, 'filter: expected an object, e.g. {"queue": "billing"}')
    selection = parse_selection(body["filter"], state.dlq, strict=True)
    if not selection.raw and body.get("all") is not True:
        raise WebError(400, 'an empty filter selects every dead job: send {"filter": {}, "all": true} to mean it')
    return state.dlq.select_ids(selection.filters), selection.describe()


def _flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise WebError(400, f"{name}: expected true or false")
    return value


def _paging(page: Any) -> dict[str, Any]:
    """The envelope every paged list route shares (the Dead jobs list and History)."""
    return {
        "filter": page.selection.raw,
        "offset": page.offset,
        "limit": page.limit,
        "total": page.total,
        "next_offset": page.next_offset,
    }
