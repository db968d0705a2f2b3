"""Filters and paging from a query string or a JSON body: the CLI's filters under URL-friendly names.

`queue`, `func`, `exc_type`, `group`, `since`, `until` (ISO time or a duration ago, as the CLI
takes them), `search`; paging by `offset` and `limit`. The raw text is kept, so links to the next
page, exports and actions carry the filter exactly as typed. A value the DLQ has never seen is a
400 whose JSON lists the known values, as the CLI's error does. The archive's history takes the
same filters plus `outcome` and `job_id` (as `rq-dlq history`), any value allowed: the archive
keeps what the DLQ has forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from failure_handlers.archive.outcomes import OUTCOMES
from failure_handlers.dlq.filters import DlqFilter, parse_time
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.selection import UnknownFilterValue, require_known_values
from failure_handlers.web.errors import WebError

FILTER_PARAMS = ("queue", "func", "exc_type", "group", "since", "until", "search")
HISTORY_PARAMS = (*FILTER_PARAMS, "outcome", "job_id")  # `rq-dlq history`'s filters
PARAM_OF_KIND = {"queue": "queue", "func": "func", "exc": "exc_type", "group": "group"}
MAX_VALUE_CHARS = 1_000
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True)
class Selection:
    """A checked filter and the text it came from (for links and the equivalent CLI command)."""

    filters: DlqFilter
    raw: dict[str, str]  # parameter -> text as given, only those given

    def describe(self) -> str:
        """`queue=billing, since=2h`, or `every dead job`."""
        return ", ".join(f"{name}={value}" for name, value in self.raw.items()) or "every dead job"

    def cli_options(self) -> list[str]:
        """The same filter as `rq-dlq` options (`--exc-type X ...`)."""
        return [part for name, value in self.raw.items() for part in (f"--{name.replace('_', '-')}", value)]


def parse_selection(values: Mapping[str, object], dlq: DeadLetterQueue, strict: bool = False) -> Selection:
    """The filter in `values`; `strict` (JSON bodies) also refuses names that are not filters."""
    if strict:
        unknown = sorted(set(values) - set(FILTER_PARAMS))
        if unknown:
            raise WebError(400, f"unknown filter field(s): {', '.join(unknown)}", allowed=list(FILTER_PARAMS))
    raw = _raw_values(values, FILTER_PARAMS)
    filters = _dlq_filter(raw)
    try:
        require_known_values(dlq, filters, PARAM_OF_KIND)
    except UnknownFilterValue as error:
        raise WebError(400, str(error), parameter=error.name, value=error.value, known=error.known) from None
    return Selection(filters, raw)


@dataclass(frozen=True)
class HistorySelection(Selection):
    """The archive's filter: the DLQ's, plus how the dead-lettering ended and the job id."""

    outcome: str | None = None
    job_id: str | None = None

    def describe(self) -> str:
        return ", ".join(f"{name}={value}" for name, value in self.raw.items()) or "every archived dead-lettering"


def parse_history_selection(values: Mapping[str, object]) -> HistorySelection:
    """`rq-dlq history`'s filters from a query string; 400 for a bad time or outcome."""
    raw = _raw_values(values, HISTORY_PARAMS)
    outcome = raw.get("outcome")
    if outcome is not None and outcome not in OUTCOMES:
        message = f"filter outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}"
        raise WebError(400, message, parameter="outcome", allowed=list(OUTCOMES))
    return HistorySelection(_dlq_filter(raw), raw, outcome, raw.get("job_id"))


def parse_paging(values: Mapping[str, str], default_limit: int = DEFAULT_LIMIT) -> tuple[int, int]:
    """(offset, limit) from the query string; 400 on anything but whole numbers in range."""
    offset = _whole(values, "offset", 0, 0, 10**9)
    limit = _whole(values, "limit", default_limit, 1, MAX_LIMIT)
    return offset, limit


def cheap_to_count(filters: DlqFilter) -> bool:
    """True when `DeadLetterQueue.count` is one ZCOUNT (no search, at most one equality filter)."""
    return not filters.search and len(filters.equalities()) <= 1


def _raw_values(values: Mapping[str, object], names: tuple[str, ...]) -> dict[str, str]:
    """The non-blank values of `names`, stripped; 400 for a non-string or an over-long value."""
    raw: dict[str, str] = {}
    for name in names:
        value = values.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise WebError(400, f"filter {name}: expected a string")
        if value.strip():
            if len(value) > MAX_VALUE_CHARS:
                raise WebError(400, f"filter {name}: longer than {MAX_VALUE_CHARS} characters")
            raw[name] = value.strip()
    return raw


def _dlq_filter(raw: dict[str, str]) -> DlqFilter:
    now = time.time()
    return DlqFilter(
        queue=raw.get("queue"),
        func=raw.get("func"),
        exc=raw.get("exc_type"),
        group=raw.get("group"),
        since=_time(raw, "since", now),
        until=_time(raw, "until", now),
        search=raw.get("search"),
    )


def _time(raw: dict[str, str], name: str, now: float) -> float | None:
    if name not in raw:
        return None
    try:
        return parse_time(raw[name], now)
    except (ValueError, OverflowError) as error:
        raise WebError(400, f"filter {name}: {error}", parameter=name) from None


def _whole(values: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = values.get(name)
    if text is None or text == "":
        return default
    try:
        number = int(text)
    except ValueError:
        raise WebError(400, f"{name}={text!r}: expected a whole number") from None
    if not low <= number <= high:
        raise WebError(400, f"{name}={text!r}: expected a whole number from {low} to {high}")
    return number
