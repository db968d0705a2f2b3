"""A failed RQ job as a bulk requeue sees it: the few hash fields it reads and the few it writes.

RQ 3.0's own requeue (`FailedJobRegistry.requeue` -> `Queue._enqueue_job`) reads the whole hash into a
`Job` (`Job.restore`: decompress the data, parse every timestamp) and writes every field back
(`Job.save`: compress the data again), then `HSET status` and `RPUSH`. Of all that, only what
`Queue._prepare_for_queue` and the requeue change differs afterwards: status, enqueued_at, started_at,
ended_at, exc_info, origin, timeout (when the job had none), meta, retries_left, retry_intervals.
A `LeanJob` reads `LEAN_FIELDS` (one HMGET) and writes those fields (one HSET): the same hash as
RQ's save leaves, without the rest of the round trip through a `Job` object.

Whatever is unusual goes the `Job` way instead (`LeanJob.read` returns None): a hash without status
or data, a status RQ does not know, meta the serializer cannot read (RQ keeps its bytes), a job with
a `ttl` (RQ's save then also sets TTLs on its dependency keys), a rate-limited job.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.typing import EncodableT, FieldT
from rq.job import JobStatus
from rq.serializers import Serializer
from rq.utils import now, utcformat

# status, origin, meta, retry_intervals, timeout, ttl, failure_ttl, data, rate_limit_key (in this order).
LEAN_FIELDS = (
    "status",
    "origin",
    "meta",
    "retry_intervals",
    "timeout",
    "ttl",
    "failure_ttl",
    "data",
    "rate_limit_key",
)
EMPTY_EXC_INFO = zlib.compress(b"")  # what RQ 3.0's to_dict writes for `job._exc_info = ''`


@dataclass(slots=True)
class LeanJob:
    """The fields of a failed job's hash a requeue needs (`read`), and what it writes (`enqueue_fields`)."""

    id: str
    status: JobStatus
    origin: str
    meta: dict[str, Any]
    retry_intervals: list[int] | None
    has_timeout: bool
    failure_ttl: int | None
    raw_data: bytes
    retries_left: int | None = field(default=None)  # None: the stored value stays, as RQ's save does
    stored_intervals: list[int] | None = field(default=None)  # retry_intervals as read (written only if changed)

    @classmethod
    def read(cls, job_id: str, values: Sequence[bytes | None], serializer: Serializer) -> LeanJob | None:
        """From an HMGET of `LEAN_FIELDS`; None when the job must go the `Job` way (see the module)."""
        status, origin, meta, intervals, timeout, ttl, failure_ttl, data, rate_limit_key = values
        if status is None or data is None or ttl or rate_limit_key:
            return None
        try:
            retry_intervals = json.loads(intervals) if intervals else None
            return cls(
                job_id,
                JobStatus(status.decode()),
                origin.decode() if origin else "",
                serializer.loads(meta) if meta else {},
                retry_intervals,
                bool(timeout),
                int(failure_ttl) if failure_ttl else None,
                data,
                stored_intervals=retry_intervals,
            )
        except Exception:  # noqa: BLE001 - anything RQ's restore handles its own way: the Job way
            return None

    @property
    def data(self) -> bytes:
        """The job's call, decompressed as `Job.restore` does (for the idempotency check)."""
        try:
            return zlib.decompress(self.raw_data)
        except zlib.error:
            return self.raw_data

    def get_status(self, refresh: bool = False) -> JobStatus:
        return self.status

    def enqueue_fields(self, queue_name: str, default_timeout: int, serializer: Serializer) -> dict[FieldT, EncodableT]:
        """The HSET that leaves the hash as RQ's requeue would (status queued, run times cleared).

        RQ's save writes every field; a field whose stored value is already what it would write
        (origin, retry_intervals) is left out."""
        fields: dict[FieldT, EncodableT] = {
            "status": JobStatus.QUEUED.value,
            "enqueued_at": utcformat(now()),
            "started_at": "",
            "ended_at": "",
            "exc_info": EMPTY_EXC_INFO,
        }
        if queue_name != self.origin:
            fields["origin"] = queue_name
        if self.meta:
            fields["meta"] = serializer.dumps(self.meta)
        if self.retries_left is not None:
            fields["retries_left"] = self.retries_left
        if self.retry_intervals is not None and self.retry_intervals != self.stored_intervals:
            fields["retry_intervals"] = json.dumps(self.retry_intervals)
        if not self.has_timeout:
            fields["timeout"] = default_timeout
        return fields
