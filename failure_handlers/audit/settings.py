"""The AUDIT_* settings: how many operator actions the Redis audit log keeps. Pure code."""

from __future__ import annotations

from dataclasses import dataclass

from failure_handlers.settings_reader import Reader, Source

DEFAULT_MAX_ENTRIES = 10_000
MAX_MAX_ENTRIES = 10_000_000

DEFAULTS = {
    "AUDIT_MAX_ENTRIES": DEFAULT_MAX_ENTRIES,
}


@dataclass(frozen=True)
class AuditSettings:
    """Validated AUDIT_* values."""

    max_entries: int = DEFAULT_MAX_ENTRIES  # records kept in <prefix>audit; the oldest are trimmed


def parse_audit_settings(source: Source) -> AuditSettings:
    read = Reader(source, DEFAULTS)
    return AuditSettings(max_entries=read.whole_number("AUDIT_MAX_ENTRIES", minimum=1, maximum=MAX_MAX_ENTRIES))
