"""When the reconciler process (`rq-dlq reconcile --watch`) last finished a pass, kept in Redis.

The watch loop records each finished pass under `<prefix>reconciler:last_pass` (declared in
`storage/keys.py`); the dashboard reads it to say whether anything is reconciling at all. A dead
reconciler is silent by nature, so the record carries the loop's interval: a reader can tell
"late" from "idle" without knowing how the process was started.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis import Redis

from failure_handlers.dlq.text import text
from failure_handlers.storage.keys import DlqKeys

LATE_AFTER_INTERVALS = 3  # passes missed before the reconciler counts as late
LATE_GRACE_SECONDS = 30.0  # a full pass on a big registry takes longer than the interval
RECORD_TTL_SECONDS = 7 * 86400  # a reconciler gone for a week leaves no stale record behind


@dataclass(frozen=True)
class LastPass:
    at: float  # epoch seconds when the pass finished
    full: bool
    interval: float  # seconds between passes of the loop that wrote it
    line: str  # the pass's report line

    def is_late(self, now: float) -> bool:
        return now - self.at > LATE_AFTER_INTERVALS * self.interval + LATE_GRACE_SECONDS


def record_pass(connection: Redis, keys: DlqKeys, line: str, full: bool, interval: float) -> None:
    """Write the record of a finished pass, `line` being its report line (one round trip)."""
    with connection.pipeline(transaction=True) as pipe:
        pipe.hset(
            keys.reconciler_last_pass,
            mapping={"at": time.time(), "full": int(full), "interval": interval, "line": line},
        )
        pipe.expire(keys.reconciler_last_pass, RECORD_TTL_SECONDS)
        pipe.execute()


def last_pass(connection: Redis, keys: DlqKeys) -> LastPass | None:
    """The latest record, or None if no reconciler loop has finished a pass (or the record is garbled)."""
    stored = connection.hgetall(keys.reconciler_last_pass)
    raw = {text(key): text(value) for key, value in stored.items()}
    try:
        return LastPass(float(raw["at"]), raw.get("full") == "1", float(raw["interval"]), raw.get("line", ""))
    except (KeyError, ValueError):
        return None
