"""Read an RQ job straight from its Redis hash without ever running code from Redis.

RQ's `Job.fetch` unpickles the job's meta (and its data on first use): with the default pickle
serializer, whoever can write to Redis can run code in any process that fetches a job. Workers must
take that risk; the operator's tools must not. This reader decodes pickled meta and data with an
unpickler that refuses every global except plain containers and datetimes (see "Restricting
Globals" in the `pickle` docs), decodes JSON as JSON, and otherwise falls back to the plain-text
fields RQ keeps beside them (`description`, `status`, timestamps, `retries_left`).
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq.job import Job
from rq.results import Result

from failure_handlers.jobs.snapshot import snapshot_of

_SAFE_GLOBALS = {
    ("builtins", name)
    for name in ("dict", "list", "tuple", "set", "frozenset", "str", "bytes", "int", "float", "bool", "complex")
} | {("datetime", "datetime"), ("datetime", "date"), ("datetime", "timedelta"), ("datetime", "timezone")}
UNDECODED = object()


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused to load {module}.{name}")


def safe_loads(payload: bytes, serializer: str) -> Any:
    """Decode `payload` written by RQ's `serializer` (pickle or json); `UNDECODED` if it cannot be
    decoded without running code."""
    try:
        if serializer == "json":
            return json.loads(payload)
        if serializer == "pickle":
            return _RestrictedUnpickler(io.BytesIO(payload)).load()
    except Exception:  # noqa: BLE001 - garbage, or a class we refuse to import
        return UNDECODED
    return UNDECODED  # a custom serializer: we do not know how to decode it safely


@dataclass(frozen=True)
class RecordedRun:
    """One execution as RQ 3.0 recorded it in the job's results stream (`rq:results:<id>`)."""

    kind: str  # FAILED, STOPPED, RETRIED, SUCCESSFUL (RQ's Result.Type names)
    exc_string: str
    ended_at: datetime | None
    worker: str


@dataclass(frozen=True)
class StoredJob:
    """What the DLQ needs of an RQ job, read without running code."""

    id: str
    status: str
    origin: str
    description: str
    enqueued_at: datetime | None
    ended_at: datetime | None
    worker_name: str
    retries_left: int | None
    meta: dict[str, Any]
    func_name: str
    args: Any  # list, or UNDECODED
    kwargs: Any  # dict, or UNDECODED
    exc_string: str  # of the latest result
    runs: tuple[RecordedRun, ...]  # RQ's results, oldest first (at most 10; see docs/rq-behaviour.md)
    snapshot: str = field(repr=False)  # see job_snapshot.py


def read_jobs(connection: Redis, job_ids: Sequence[str], serializer: str) -> list[StoredJob | None]:
    """The jobs (None where the hash is gone), with their results: one pipelined round trip."""
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hgetall(Job.key_for(job_id))
            pipe.xrange(Result.get_key(job_id), "-", "+")
        replies = pipe.execute()
    return [
        _stored_job(job_id, replies[2 * n], replies[2 * n + 1], serializer) if replies[2 * n] else None
        for n, job_id in enumerate(job_ids)
    ]


def _stored_job(job_id: str, raw: dict[bytes, bytes], results: list, serializer: str) -> StoredJob:
    text = {key.decode(): value.decode("utf-8", "replace") for key, value in raw.items() if key != b"data"}
    meta = safe_loads(raw[b"meta"], serializer) if raw.get(b"meta") else {}
    func_name, args, kwargs = _call(raw.get(b"data", b""), serializer, text.get("description", ""))
    runs = tuple(_run(stream_id, payload) for stream_id, payload in results)
    return StoredJob(
        id=job_id,
        status=text.get("status", ""),
        origin=text.get("origin", ""),
        description=text.get("description", ""),
        enqueued_at=_time(text.get("enqueued_at")),
        ended_at=_time(text.get("ended_at")),
        worker_name=text.get("worker_name", ""),
        retries_left=int(text["retries_left"]) if text.get("retries_left", "").isdigit() else None,
        meta=meta if isinstance(meta, dict) else {},
        func_name=func_name,
        args=args,
        kwargs=kwargs,
        exc_string=runs[-1].exc_string if runs else "",
        runs=runs,
        snapshot=snapshot_of({key.decode(): value for key, value in raw.items()}),
    )


def _call(data: bytes, serializer: str, description: str) -> tuple[str, Any, Any]:
    """`(func_name, args, kwargs)` from the job's data; the name from its description if undecodable."""
    try:
        data = zlib.decompress(data)
    except zlib.error:
        pass
    call = safe_loads(data, serializer)
    if isinstance(call, (list, tuple)) and len(call) == 4 and isinstance(call[0], str) and call[1] is None:
        return call[0], list(call[2] or ()), dict(call[3] or {})
    return description.split("(", 1)[0], UNDECODED, UNDECODED


def _run(stream_id: bytes, payload: dict[bytes, bytes]) -> RecordedRun:
    """A results-stream entry, read field by field (the return value, a pickle, is never loaded)."""
    try:
        kind = Result.Type(int(payload.get(b"type", b"0"))).name
    except ValueError:
        kind = "UNKNOWN"
    ended = payload.get(b"execution_ended_at")
    try:
        seconds = float(ended) if ended else int(stream_id.split(b"-")[0]) / 1000
        ended_at: datetime | None = datetime.fromtimestamp(seconds, UTC)
    except ValueError:
        ended_at = None
    return RecordedRun(
        kind=kind,
        exc_string=_exc_string(payload.get(b"exc_string")),
        ended_at=ended_at,
        worker=payload.get(b"worker_name", b"").decode("utf-8", "replace"),
    )


def _exc_string(encoded: bytes | None) -> str:
    if not encoded:
        return ""
    try:
        return zlib.decompress(base64.b64decode(encoded)).decode("utf-8", "replace")
    except (ValueError, zlib.error):
        return ""


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
