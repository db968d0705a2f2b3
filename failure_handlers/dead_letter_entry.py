"""One dead job as stored in its DLQ hash: readable fields only, never a pickle.

The field names below are the DLQ contract other tools read (see README, "The DLQ contract").
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

INT_FIELDS = ("attempts", "max_retries")


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

    REQUIRED = ("job_id", "func_name", "queue", "exc_type", "failed_at")

    def missing_fields(self) -> list[str]:
        """Required fields that are empty: a partial or hand-written hash."""
        return [name for name in self.REQUIRED if not getattr(self, name)]

    def to_hash(self) -> dict[str, str]:
        return {name: str(value) for name, value in asdict(self).items()}

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes] | dict[str, str]) -> DeadLetterEntry:
        """Rebuild from HGETALL output; missing or garbled fields become empty, never an error."""
        values = {_text(key): _text(value) for key, value in raw.items()}
        kwargs: dict[str, Any] = {}
        for field in fields(cls):
            text = values.get(field.name, "")
            kwargs[field.name] = _int(text) if field.name in INT_FIELDS else text
        if not kwargs["failures"]:
            kwargs["failures"] = "[]"
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

    def as_json(self) -> dict[str, Any]:
        """JSON-ready dict with `args`, `kwargs` and `failures` decoded (stable field names).

        The opaque `job_snapshot` is left out; `self_sufficient` says whether there is one.
        """
        data: dict[str, Any] = asdict(self)
        data["self_sufficient"] = bool(data.pop("job_snapshot"))
        for name in ("args", "kwargs", "failures"):
            try:
                data[name] = json.loads(data[name])
            except ValueError:
                pass
        return data


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0
