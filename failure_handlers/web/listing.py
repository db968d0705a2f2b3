"""One page of the filtered list, as the list page and `GET /api/failed-jobs` both show it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.jobs.status import job_statuses
from failure_handlers.web.params import Selection, cheap_to_count, parse_paging, parse_selection
from failure_handlers.web.state import DashboardState


@dataclass(frozen=True)
class ListPage:
    selection: Selection
    offset: int
    limit: int
    entries: list[DeadLetterEntry]  # newest first
    statuses: list[str | None]  # each entry's RQ job status now (None: the hash is gone)
    total: int | None  # None when counting would scan (a message search, several equality filters)
    has_more: bool

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None


def read_page(state: DashboardState, args: Mapping[str, str]) -> ListPage:
    """The page the query string asks for: one entry more than shown tells whether there is a next page."""
    selection = parse_selection(args, state.dlq)
    offset, limit = parse_paging(args)
    entries = state.dlq.list(offset=offset, limit=limit + 1, filters=selection.filters)
    shown = entries[:limit]
    return ListPage(
        selection=selection,
        offset=offset,
        limit=limit,
        entries=shown,
        statuses=job_statuses(state.connection, [entry.job_id for entry in shown]),
        total=state.dlq.count(selection.filters) if cheap_to_count(selection.filters) else None,
        has_more=len(entries) > limit,
    )
