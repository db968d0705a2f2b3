"""One dead job as stored in its DLQ hash: readable fields only, never a pickle.

The field names below are the DLQ contract other tools read (see README, "The DLQ contract").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from functools import cached_property
from operator import attrgetter
from typing import Any, Literal, TypedDict

from failure_handlers.dlq.text import utf8_text

# Failure records kept per job, the newest ones: in job.meta (older ones are counted as dropped) and in its DLQ entry.
MAX_RECORDED_FAILURES = 25
INT_FIELDS = ("attempts", "max_retries", "duplicated_runs")
MAX_ENTRY_BYTES = 48_000  # hard cap on an entry's field bytes (MEMORY USAGE stays under 64 KB)
_ShrinkableField = Literal["job_snapshot", "failures", "traceback", "args", "kwargs", "exc_message"]
SHRINK_ORDER: tuple[_ShrinkableField, ...] = ("job_snapshot", "failures", "traceback", "args", "kwargs", "exc_message")
SHRUNK_MARK = "…[cut to fit the DLQ entry size cap]"
OMITTED_WHEN_EMPTY = ("trace_id", "span_id")  # not stored at all when empty: entries stay as small as before
COMPACT = (",", ":")  # JSON separators of the stored histories and snapshot: no spaces (read back alike)
# Built once: `json.dumps` with options builds an encoder per call (the failure handler's hot path)
_HISTORY_JSON = json.JSONEncoder(ensure_ascii=False, separators=COMPACT)


def history_json(items: list[dict[str, Any]]) -> str:
    """A history field's text (`failures`, `events`): compact JSON, UTF-8 kept as is (fewer bytes
    per entry than `json.dumps`' default `, ` and `: `; every JSON reader reads both)."""
    return _HISTORY_JSON.encode(items)


@dataclass(frozen=True)
class DeadLetterEntry:
    job_id: str
    func_name: str
    queue: str
    args: str  # JSON text
    kwargs: str  # JSON text
    exc_type: str
    exc_message: str
    traceback: str
    attempts: int
    max_retries: int
    enqueued_at: str  # UTC ISO 8601
    failed_at: str  # UTC ISO 8601
    worker: str
    reason: str = ""  # why it is dead: retries exhausted, or why the failure is permanent
    failures: str = "[]"  # JSON list: each attempt's number, exc_type, message, failed_at, worker
    fingerprint: str = ""  # failure group (see fingerprint.py)
    origin: str = ""  # innermost frame of project code, `file.py:function`
    job_snapshot: str = ""  # RQ job fields to rebuild the job (see job_snapshot.py); '' if too big
    retry_schedule: str = ""  # the retry plan made at enqueue: delays, backoff, jitter (retry policy)
    # A re-recording of the same dead-lettering keeps the first real cause (dlq/first_cause.py):
    events: str = "[]"  # JSON list: the other records of the job (abandoned, work-horse killed...) after it
    duplicated_runs: int = 0  # runs that repeat an attempt of the same retry budget (the job ran twice; dlq/runs.py)
    # The failed run's OpenTelemetry span (telemetry/tracing.py), hex; '' without tracing (then not stored):
    trace_id: str = ""
    span_id: str = ""

    REQUIRED = ("job_id", "func_name", "queue", "exc_type", "failed_at")

    def missing_fields(self) -> list[str]:
        """Required fields that are empty: a partial or hand-written hash."""
        return [name for name in self.REQUIRED if not getattr(self, name)]

    def to_hash(self) -> dict[str, str]:
        """Field texts, valid UTF-8 (lone surrogates from undecodable bytes become `\\udcXX`).

        Computed once per entry (the failure handler's hot path reads it for the size cap and for
        the write); the returned dict is shared: do not change it.
        """
        return self._hash

    def stored_fields(self) -> dict[str, str]:
        """The fields the DLQ stores: `to_hash` without those that hold what a missing field reads as
        (`from_hash`: '' for text, 0 for counts, [] for the histories). Fewer hash fields are less
        server CPU and memory per dead-lettering; an entry stored whole reads the same."""
        return self._stored

    @cached_property
    def _stored(self) -> dict[str, str]:
        return {name: value for name, value in self._hash.items() if value != _READ_AS[name]}

    @cached_property
    def _hash(self) -> dict[str, str]:
        # Every field read at once (`attrgetter`, in C); an ASCII text (nearly every one) taken as it is.
        hashed = {
            name: value if value.__class__ is str and value.isascii() else utf8_text(str(value))
            for name, value in zip(FIELD_NAMES, _FIELD_VALUES(self), strict=True)
        }
        for name in OMITTED_WHEN_EMPTY:
            if not hashed[name]:
                del hashed[name]
        return hashed

    def size(self) -> int:
        """The fields' bytes (names and UTF-8 values)."""
        return sum(
            len(name) + (len(value) if value.isascii() else len(value.encode())) for name, value in self._hash.items()
        )

    def bounded(self, max_bytes: int = MAX_ENTRY_BYTES) -> DeadLetterEntry:
        """This entry, its biggest fields cut (snapshot first, then history, traceback...) to fit
        `max_bytes`; each cut is marked. Fields are already bounded one by one; this bounds the sum
        for hostile input (multi-byte text at every limit)."""
        values = self._hash.values()
        chars = sum(map(len, values)) + _NAMES_BYTES
        if 4 * chars <= max_bytes or (chars <= max_bytes and all(map(str.isascii, values))):
            return self  # under the cap without counting bytes (at most 4 a character; 1 for ASCII)
        entry = self
        for name in SHRINK_ORDER:
            excess = entry.size() - max_bytes
            if excess <= 0:
                break
            value = utf8_text(getattr(entry, name))
            keep = 0 if name == "job_snapshot" else max(0, len(value.encode()) - excess - len(SHRUNK_MARK.encode()))
            cut = value.encode()[:keep].decode(errors="ignore") + (SHRUNK_MARK if name != "job_snapshot" else "")
            cuts: _ShrunkFields = {}
            cuts[name] = cut
            entry = replace(entry, **cuts)
        return entry

    @classmethod
    def from_hash(cls, raw: Mapping[bytes | str, bytes | str]) -> DeadLetterEntry:
        """Rebuild from HGETALL output; missing or garbled fields become empty, never an error."""
        values = {_text(key): _text(value) for key, value in raw.items()}
        kwargs: dict[str, Any] = {}
        for field in fields(cls):
            text = values.get(field.name, "")
            kwargs[field.name] = _int(text) if field.name in INT_FIELDS else text
        for name in _HISTORIES:  # not stored when empty (stored_fields); entries written before `events` had none
            if not kwargs[name]:
                kwargs[name] = "[]"
        return cls(**kwargs)

    @property
    def failed_at_epoch(self) -> float:
        """Failure time as epoch seconds (0.0 if the field is missing or garbled)."""
        try:
            return datetime.fromisoformat(self.failed_at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0

    def attempt_history(self) -> list[dict[str, Any]]:
        try:
            history = json.loads(self.failures)
        except ValueError:
            return []
        return history if isinstance(history, list) else []

    def event_history(self) -> list[dict[str, Any]]:
        """The other records of this dead-lettering (`events`), oldest first; [] if garbled."""
        try:
            events = json.loads(self.events)
        except ValueError:
            return []
        return [event for event in events if isinstance(event, dict)] if isinstance(events, list) else []

    def as_json(self) -> dict[str, Any]:
        """JSON-ready dict with `args`, `kwargs` and `failures` decoded (stable field names).

        The opaque `job_snapshot` is left out; `self_sufficient` says whether there is one.
        """
        data: dict[str, Any] = asdict(self)
        data["self_sufficient"] = bool(data.pop("job_snapshot"))
        for name in ("args", "kwargs", "failures", "events"):
            try:
                data[name] = json.loads(data[name])
            except ValueError:
                pass
        return data


class _ShrunkFields(TypedDict, total=False):
    """`replace` arguments of `bounded`: the fields it may cut (`SHRINK_ORDER`), all text."""

    job_snapshot: str
    failures: str
    traceback: str
    args: str
    kwargs: str
    exc_message: str


FIELD_NAMES = tuple(field.name for field in fields(DeadLetterEntry))
_FIELD_VALUES = attrgetter(*FIELD_NAMES)
_HISTORIES = ("failures", "events")  # JSON lists: a missing one reads as []
_READ_AS = {name: "0" if name in INT_FIELDS else "[]" if name in _HISTORIES else "" for name in FIELD_NAMES}
_NAMES_BYTES = sum(map(len, FIELD_NAMES))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
