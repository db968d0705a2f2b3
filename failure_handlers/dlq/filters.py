"""Which dead jobs an operator means: filters, and the time expressions they accept. Pure code."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime

SEARCHED = ("message", "args", "kwargs")  # what `search` looks in
_DURATION = re.compile(r"^(?P<amount>\d+(\.\d+)?)\s*(?P<unit>s|m|h|d|w)$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> float:
    """`90s`, `15m`, `2h`, `7d`, `1w`, or plain seconds, to seconds; raises ValueError."""
    stripped = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", stripped):
        return float(stripped)
    match = _DURATION.match(stripped)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 90s, 15m, 2h, 7d or 1w")
    return float(match["amount"]) * _UNIT_SECONDS[match["unit"]]


def parse_time(text: str, now: float) -> float:
    """An ISO 8601 time (naive means UTC) or a duration ago (`2h` = two hours ago), as epoch seconds."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither an ISO time (2026-11-22T08:00) nor a duration ago (2h)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass(frozen=True)
class DlqFilter:
    """Entries must match every filter given; `None` means "any"."""

    queue: str | None = None
    func: str | None = None
    exc: str | None = None  # exception type
    group: str | None = None  # fingerprint
    since: float | None = None  # epoch seconds, inclusive
    until: float | None = None  # epoch seconds, inclusive
    search: str | None = None  # case-insensitive substring of the message or the arguments

    def equalities(self) -> dict[str, str]:
        """Index kind -> required value, for the filters given."""
        return {kind: value for kind in ("queue", "func", "exc", "group") if (value := getattr(self, kind))}

    def is_empty(self) -> bool:
        return all(getattr(self, field.name) is None for field in fields(self))

    def matches(self, values: Mapping[str, str]) -> bool:
        """`values`: index kind -> the entry's value, plus `message`, `args` and `kwargs`."""
        if any(values.get(kind) != wanted for kind, wanted in self.equalities().items()):
            return False
        if not self.search:
            return True
        needle = self.search.lower()
        return any(needle in values.get(name, "").lower() for name in SEARCHED)
