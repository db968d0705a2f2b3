"""One page of the failure archive, as the History page and `GET /api/history` show it.

Thin over `failure_handlers.archive.history`, what `rq-dlq history` runs, with its filters. The
archive's modules (SQLAlchemy) are imported only when a history route runs with `ARCHIVE_URL` set:
the `web` extra keeps working without the `archive` one. The archive off, unreachable, refusing us
or at another schema version is a 503 with one line, its URL's password never shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from failure_handlers.errors import OperatorError
from failure_handlers.web.errors import WebError
from failure_handlers.web.params import HistorySelection, parse_history_selection, parse_paging
from failure_handlers.web.state import DashboardState

ARCHIVE_OFF = "the failure archive is off: set ARCHIVE_URL (see docs/archive.md)"
MISSING_EXTRA = "the failure archive needs the `archive` extra: pip install 'rq-dead-letter[archive]'"
ARCHIVE_MODULES = ("sqlalchemy", "alembic", "psycopg")
DEFAULT_TOP = 10
MAX_TOP = 100

T = TypeVar("T")


@dataclass(frozen=True)
class HistoryPage:
    selection: HistorySelection
    offset: int
    limit: int
    rows: list[dict[str, Any]]  # newest failure first, times as ISO 8601 UTC
    total: int
    by_outcome: dict[str, int]  # how the matching rows ended; sums to `total`
    has_more: bool

    @property
    def next_offset(self) -> int | None:
        return self.offset + self.limit if self.has_more else None


def read_history(state: DashboardState, args: Mapping[str, str], with_traceback: bool = False) -> HistoryPage:
    """The page the query string asks for: one row more than shown tells whether there is a next page."""
    selection = parse_history_selection(args)
    offset, limit = parse_paging(args)

    def query(history: Any, engine: Any) -> tuple[list[dict[str, Any]], dict[str, int]]:
        filters = _history_filter(history, selection)
        found = history.rows(engine, filters, limit + 1, offset, with_traceback=with_traceback)
        return found, history.by_outcome(engine, filters)

    found, ended = run_query(state, query)
    return HistoryPage(selection, offset, limit, found[:limit], sum(ended.values()), ended, len(found) > limit)


def read_stats(state: DashboardState, args: Mapping[str, str]) -> dict[str, Any]:
    """`rq-dlq history stats --json` for the same filters, plus `top` (functions and groups shown)."""
    selection = parse_history_selection(args)
    top = _top(args.get("top"))
    return run_query(state, lambda history, engine: history.stats(engine, _history_filter(history, selection), top))


def run_query(state: DashboardState, query: Callable[[Any, Any], T]) -> T:
    """`query(history_module, engine)` on the checked archive, its errors made 503s of one line."""
    with archive_errors(state):
        from failure_handlers.archive import database, history

        engine = state.archive_engine
        with database.reporting(state.settings.archive):
            return query(history, engine)


@contextmanager
def archive_errors(state: DashboardState) -> Iterator[None]:
    if not state.settings.archive.enabled:
        raise WebError(503, ARCHIVE_OFF)
    try:
        yield
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in ARCHIVE_MODULES:
            raise
        raise WebError(503, MISSING_EXTRA) from None
    except OperatorError as error:  # ArchiveUnavailable, SchemaMismatch: already one redacted line
        raise WebError(503, " ".join(str(error).split())) from None


def _history_filter(history: Any, selection: HistorySelection) -> Any:
    try:
        return history.HistoryFilter(selection.filters, selection.outcome, selection.job_id)
    except ValueError as error:
        raise WebError(400, f"filter outcome: {error}", parameter="outcome") from None


def _top(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_TOP
    try:
        top = int(text)
    except ValueError:
        top = 0
    if not 1 <= top <= MAX_TOP:
        raise WebError(400, f"top={text!r}: expected a whole number from 1 to {MAX_TOP}")
    return top
