"""Which dead jobs a filter names, checked: a value the DLQ has never seen is an error listing the
known ones, so a typo never reads as "nothing failed". Shared by the CLI and the dashboard."""

from __future__ import annotations

from collections.abc import Mapping

from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.errors import OperatorError

KNOWN_SHOWN = 8  # known values named in the message; the dashboard's JSON lists them all


class UnknownFilterValue(OperatorError):
    """A filter value no dead job has; `known` holds every value the DLQ has seen for that kind."""

    def __init__(self, name: str, value: str, known: list[str]) -> None:
        more = ", ..." if len(known) > KNOWN_SHOWN else ""
        listing = ", ".join(known[:KNOWN_SHOWN]) + more if known else "none yet"
        super().__init__(f"no dead job has {name} {value!r} (known: {listing})")
        self.name = name
        self.value = value
        self.known = known


def require_known_values(dlq: DeadLetterQueue, filters: DlqFilter, names: Mapping[str, str]) -> None:
    """Raise `UnknownFilterValue` for the first equality filter whose value the DLQ has never seen.

    `names` maps an index kind to how the caller spells it (`--exc-type` on the command line,
    `exc_type` in a URL).
    """
    for kind, value in filters.equalities().items():
        known = dlq.known_values(kind)
        if value not in known:
            raise UnknownFilterValue(names[kind], value, known)
