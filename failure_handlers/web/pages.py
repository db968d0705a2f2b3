"""The dashboard's pages: overview, failure groups, the filtered list, one entry, and the failure
archive's history.

Thin views over the library the CLI uses (`DeadLetterQueue.list/count/get/stats`, `job_status`,
`archive.history`); every page is rendered on the server and works without JavaScript.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from failure_handlers.archive.outcomes import OUTCOMES
from failure_handlers.audit.log import ACTIONS
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.first_cause import event_line
from failure_handlers.dlq.seen import group_samples
from failure_handlers.jobs.status import job_status
from failure_handlers.operations.bulk_runs import BulkRuns
from failure_handlers.web import rendering
from failure_handlers.web.activity import activity_filter, read_activity
from failure_handlers.web.errors import WebError
from failure_handlers.web.history import read_history
from failure_handlers.web.listing import read_page
from failure_handlers.web.overview import build_overview
from failure_handlers.web.state import DashboardState
from failure_handlers.web.timeline import group_trends

MAX_GROUPS = 1_000  # groups on the groups page (the API has them all)
TRENDS_ON_GROUPS_PAGE = 100
KNOWN_IN_FORM = 200  # suggestions per filter field
BULK_RUNS_SHOWN = 10  # the newest background bulk runs, on the Activity page


def register(bp: Blueprint, state: DashboardState) -> None:
    @bp.get("/")
    def overview() -> Response:
        return rendering.page("overview.html", view=build_overview(state), active="overview")

    @bp.get("/groups")
    def groups() -> Response:
        now = time.time()
        stats = state.dlq.stats(top_groups=MAX_GROUPS)
        shown = stats.groups
        trends = group_trends(state.dlq, [group.fingerprint for group in shown[:TRENDS_ON_GROUPS_PAGE]], now)
        return rendering.page(
            "groups.html",
            groups=shown,
            total_groups=len(stats.by_kind.get("group", [])),
            trends=trends,
            now=now,
            active="groups",
        )

    @bp.get("/failed")
    def failed_jobs() -> Response:
        page = read_page(state, request.args)
        return rendering.page(
            "list.html",
            page=page,
            selection=page.selection,
            known={kind: state.dlq.known_values(kind)[:KNOWN_IN_FORM] for kind in ("queue", "func", "exc")},
            group_label=_group_label(state, page.selection.filters),
            now=time.time(),
            active="list",
        )

    @bp.get("/jobs/<job_id>")
    def entry(job_id: str) -> Response:
        found = state.dlq.get(job_id)
        if found is None:
            raise WebError(404, f"no DLQ entry for job {job_id!r} (requeued, deleted or expired?)", job_id=job_id)
        return rendering.page(
            "entry.html",
            entry=found,
            status=job_status(state.connection, job_id),
            history=found.attempt_history(),
            events=[event_line(event) for event in found.event_history()],
            missing=found.missing_fields(),
            trace_url=state.settings.telemetry.trace_url(found.trace_id, found.span_id),
            now=time.time(),
            active="list",
        )

    @bp.get("/activity")
    def activity() -> Response:
        records = read_activity(state, request.args)
        return rendering.page(
            "activity.html",
            records=records,
            raw=activity_filter(request.args),
            actions=ACTIONS,
            bulk_runs=BulkRuns(state.connection, state.dlq.keys).recent(BULK_RUNS_SHOWN),
            active="activity",
        )

    @bp.get("/history")
    def history() -> Response:
        page = read_history(state, request.args)
        return rendering.page("history.html", page=page, selection=page.selection, outcomes=OUTCOMES, active="history")


def _group_label(state: DashboardState, filters: DlqFilter) -> str:
    """The sample message of the group being listed, as a heading."""
    if not filters.group:
        return ""
    [sample] = group_samples(state.connection, state.dlq.keys, [filters.group])
    return f"{sample.get('exc_type', '')}: {sample.get('message', '')}" if sample else ""
