"""Template filters for job-derived text: escaped by Jinja's autoescape after these run, and made
visible first. Bidirectional overrides and control characters (Trojan Source tricks, terminal
escapes) are shown as `⟨U+202E⟩` instead of reordering or hiding what an operator reads."""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from failure_handlers.dlq.first_cause import event_lines
from failure_handlers.dlq.health import format_age

# Bidi embeddings/overrides/isolates and marks, zero-width and BOM, C0/C1 controls but tab and newline.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u061c\ufeff\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
DEFAULT_SHOWN_CHARS = 100_000  # one page never carries more of a single field than this


def visible(text: object, limit: int | None = DEFAULT_SHOWN_CHARS) -> str:
    """`text` with invisible and direction-changing characters spelled out, cut to `limit` characters."""
    value = str(text if text is not None else "")
    cut = ""
    if limit is not None and len(value) > limit:
        cut = f"… [{len(value) - limit:,} more characters: see the JSON API]"
        value = value[:limit]
    value = _SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", value)
    return _INVISIBLE.sub(lambda match: f"⟨U+{ord(match.group()):04X}⟩", value) + cut


def one_line(text: object, limit: int = 160) -> str:
    """The first `limit` characters on one line, for tables."""
    flat = " ".join(str(text or "").split())
    return visible(flat[:limit] + ("…" if len(flat) > limit else ""), None)


def utc(moment: float | None) -> str:
    if not moment:
        return "-"
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_short(text: str) -> str:
    """`2026-11-23T00:12:15.800Z` -> `2026-11-23 00:12:15`."""
    return visible(text[:19].replace("T", " "), None)


def ago(moment: float | None, now: float | None = None) -> str:
    if not moment:
        return "-"
    return f"{format_age((now or time.time()) - moment)} ago"


def pretty_json(text: str) -> str:
    """Stored JSON text (arguments) indented; anything else as it is."""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return text


def number(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def command(parts: Sequence[str]) -> str:
    """A shell command line with every part quoted as needed (copy-paste safe)."""
    return visible(shlex.join(parts), None)


MAX_EDITABLE_CHARS = 64_000  # arguments longer than this are edited with `rq-dlq requeue ID --edit`


def editable_json(text: str) -> str | None:
    """Stored JSON arguments for the replay form: indented, every non-ASCII character as a `\\uXXXX`
    escape (the exact value, and no direction override in the page); None if not JSON or too long."""
    try:
        edited = json.dumps(json.loads(text), indent=2, ensure_ascii=True)
    except (ValueError, RecursionError):
        return None
    return edited if len(edited) <= MAX_EDITABLE_CHARS else None


FILTERS = {
    "dlq_editable_json": editable_json,
    "dlq_visible": visible,
    "dlq_one_line": one_line,
    "dlq_utc": utc,
    "dlq_iso": iso_short,
    "dlq_ago": ago,
    "dlq_json": pretty_json,
    "dlq_number": number,
    "dlq_event_lines": event_lines,
    "dlq_command": command,
}
