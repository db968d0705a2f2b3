"""Write DLQ entries exactly as the add script of before 2026-11 did (the fixture in
tests/fixtures/dlq_layout_2026_11): the entry as one JSON object in ARGV[9], the values seen per kind
in `names:<kind>`, a TTL on the index, every `by:` key, every `names:` key and `groups`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from redis import Redis

from failure_handlers.dlq.entry import DeadLetterEntry

LAYOUT = Path(__file__).parent / "fixtures" / "dlq_layout_2026_11"
SCRIPT = (LAYOUT / "prelude.lua").read_text() + "\n" + (LAYOUT / "add.lua").read_text()


def add_as_before(
    connection: Redis, prefix: str, ttl: int, entry: DeadLetterEntry, max_entries: int = 10_000, counts: str = ""
) -> int:
    """One add by the old script (its ARGV: prefix, id, score, ttl, max, now, sample, guard, fields JSON,
    counts, archive MAXLEN, compare-and-set); returns what it returned."""
    fields = entry.to_hash()
    sample = {
        "exc_type": fields["exc_type"],
        "func_name": fields["func_name"],
        "origin": fields["origin"],
        "message": fields["exc_message"][:300],
    }
    args = [
        prefix, entry.job_id, entry.failed_at_epoch, ttl, max_entries, time.time(),
        json.dumps(sample, ensure_ascii=False), "", json.dumps(fields, ensure_ascii=False), counts, "", "none",
    ]  # fmt: skip
    return int(connection.eval(SCRIPT, 0, *args))


def spec_as_before(max_label_values: int, max_series: int, increments: list[tuple[str, tuple[str, ...]]]) -> str:
    """The counter spec of that version: JSON only (`metrics/counters.spec` then; no label value
    here needs sanitising)."""
    from failure_handlers.metrics.counters import NEW_ENTRY_ONLY
    from failure_handlers.storage.keys import METRIC_LABELS

    incr = [
        [metric, list(METRIC_LABELS[metric]), list(values), metric in NEW_ENTRY_ONLY] for metric, values in increments
    ]
    return json.dumps({"cap": max_label_values, "series": max_series, "incr": incr}, ensure_ascii=False)
