"""The Activity page and `GET /api/audit`: the audit log's records, newest first, filtered by
`since` (ISO time or a duration ago), `actor` (a part of the name), `action` and `limit`. Reads only."""

from __future__ import annotations

import time
from collections.abc import Mapping

from failure_handlers.audit.log import ACTIONS, AuditRecord
from failure_handlers.dlq.filters import parse_time
from failure_handlers.web.errors import WebError
from failure_handlers.web.state import DashboardState

DEFAULT_LIMIT = 100
MAX_LIMIT = 1_000
ACTIVITY_PARAMS = ("since", "actor", "action", "limit")


def activity_filter(args: Mapping[str, str]) -> dict[str, str]:
    """The filter as given (for the form and links), every value bounded."""
    return {name: str(args[name])[:200] for name in ACTIVITY_PARAMS if args.get(name)}


def read_activity(state: DashboardState, args: Mapping[str, str]) -> list[AuditRecord]:
    raw = activity_filter(args)
    since = None
    if "since" in raw:
        try:
            since = parse_time(raw["since"], time.time())
        except ValueError as error:
            raise WebError(400, f"since: {error}", parameter="since") from None
    action = raw.get("action")
    if action is not None and action not in ACTIONS:
        raise WebError(400, f"action: {action!r} is not one of {', '.join(ACTIONS)}", allowed=list(ACTIONS))
    try:
        limit = int(raw.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise WebError(400, f"limit: expected a whole number, 1 to {MAX_LIMIT}", parameter="limit") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise WebError(400, f"limit: expected a whole number, 1 to {MAX_LIMIT}", parameter="limit")
    return state.audit.read(since=since, actor=raw.get("actor"), action=action, limit=limit)
