"""What a DLQ entry keeps to rebuild its RQ job after RQ's own job hash has expired or was deleted.

The snapshot is RQ's own job hash fields (as `Job.to_dict` writes them, without meta and result),
JSON-encoded with bytes in base64, so the job is rebuilt by RQ's `Job.restore`. The payload is
opaque here: nothing in list/show/stats decodes it; only requeue does, through RQ.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import rq
from redis import Redis
from rq.job import Job
from rq.serializers import Serializer
from rq.utils import now

MAX_SNAPSHOT_CHARS = 32_000  # larger jobs are not self-sufficient (their entry says so)
_DROPPED_FIELDS = frozenset(
    ("status", "started_at", "ended_at", "last_heartbeat", "worker_name", "exc_info", "result", "meta")
)


# The rq releases whose `Job.to_dict` `job_fields` mirrors (tests/unit/test_job_snapshot.py checks it
# field by field); under any other, the snapshot is taken with `Job.to_dict` itself.
MIRRORED_RQ = ("3.0.",)
# Built once: `json.dumps` with options builds an encoder per call (the failure handler's hot path)
_SNAPSHOT_JSON = json.JSONEncoder(default=str, separators=(",", ":"))


def take_snapshot(job: Job) -> str:
    """The snapshot of a live job (its fields as `Job.to_dict` writes them)."""
    if rq.__version__.startswith(MIRRORED_RQ):
        return snapshot_of(job_fields(job))
    return snapshot_of(job.to_dict(include_meta=False, include_result=False))


def job_fields(job: Job) -> dict[str, Any]:
    """`job.to_dict()` without the fields a snapshot drops, and with `data` as it is in memory.

    `Job.to_dict` compresses `data` with zlib every time: a deflate stream's set-up (a 256 KB window)
    for ~100 bytes of pickle: ~155k of the ~1.9M instructions of a final failure's handler
    (benchmarks/worker_instructions.py). `Job.restore`
    reads uncompressed data alike (a zlib error falls back to the bytes as they are), and the pickle
    of a job's call is short: the snapshot keeps it as it is. Mirrors rq 3.0's `Job.to_dict`, field
    for field (MIRRORED_RQ).
    """
    obj: dict[str, Any] = {
        "created_at": _rq_time(job.created_at or now()),
        "data": job.data,
        "success_callback_name": job._success_callback_name or "",
        "failure_callback_name": job._failure_callback_name or "",
        "stopped_callback_name": job._stopped_callback_name or "",
        "group_id": job.group_id or "",
    }
    if job.number_of_retries is not None:
        obj["number_of_retries"] = job.number_of_retries
    if job.retries_left is not None:
        obj["retries_left"] = job.retries_left
    if job.retry_intervals is not None:
        obj["retry_intervals"] = json.dumps(job.retry_intervals)
    if job.enqueue_at_front_on_retry:
        obj["enqueue_at_front_on_retry"] = int(job.enqueue_at_front_on_retry)
    if job.origin:
        obj["origin"] = job.origin
    if job.description is not None:
        obj["description"] = job.description
    if job.enqueued_at is not None:
        obj["enqueued_at"] = _rq_time(job.enqueued_at)
    if job.repeats_left is not None:
        obj["repeats_left"] = job.repeats_left
    if job.repeat_intervals is not None:
        obj["repeat_intervals"] = json.dumps(job.repeat_intervals)
    if job.rate_limit_key:
        obj["rate_limit_key"] = job.rate_limit_key
    if job.rate_limit_concurrency:
        obj["rate_limit_concurrency"] = job.rate_limit_concurrency
    if job.timeout is not None:
        obj["timeout"] = job.timeout
    for name in ("success_callback_timeout", "failure_callback_timeout", "stopped_callback_timeout"):
        value = getattr(job, f"_{name}")
        if value is not None:
            obj[name] = value
    if job.webhooks:
        obj["webhooks"] = json.dumps([webhook.to_dict() for webhook in job.webhooks])
    if job.result_ttl is not None:
        obj["result_ttl"] = job.result_ttl
    if job.failure_ttl is not None:
        obj["failure_ttl"] = job.failure_ttl
    if job._dependency_ids:
        obj["dependency_id"] = job._dependency_ids[0]
        obj["dependency_ids"] = json.dumps(job._dependency_ids)
    if job.ttl:
        obj["ttl"] = job.ttl
    if job.allow_dependency_failures is not None:
        obj["allow_dependency_failures"] = int(job.allow_dependency_failures)
    if job.enqueue_at_front is not None:
        obj["enqueue_at_front"] = int(job.enqueue_at_front)
    return obj


_RQ_TIME = "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ"


def _rq_time(moment: datetime) -> str:
    """rq's `utcformat` (`%Y-%m-%dT%H:%M:%S.%fZ`), written field by field: half the instructions of strftime."""
    return _RQ_TIME % (
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second, moment.microsecond,
    )  # fmt: skip


def snapshot_of(fields: Mapping[str, object]) -> str:
    """JSON text of job hash fields (bytes in base64), or '' if it would exceed `MAX_SNAPSHOT_CHARS`.

    Takes `Job.to_dict` output or a raw HGETALL of the job hash (keys decoded): both restore alike.
    Empty fields are left out (RQ's `Job.restore` reads an empty field as a missing one), and the
    JSON is compact: each byte saved is saved in every DLQ entry.
    """
    encoded = {
        name: {"b64": base64.b64encode(value).decode("ascii")} if isinstance(value, bytes) else value
        for name, value in fields.items()
        if name not in _DROPPED_FIELDS and value not in ("", b"")
    }
    text = _SNAPSHOT_JSON.encode(encoded)
    return text if len(text) <= MAX_SNAPSHOT_CHARS else ""


def rebuild_job(connection: Redis, job_id: str, snapshot: str, serializer: Serializer | None = None) -> Job:
    """A Job object (not yet saved) equal to the snapshotted one; raises ValueError if unusable."""
    try:
        encoded = json.loads(snapshot)
        fields = {
            name: base64.b64decode(value["b64"]) if isinstance(value, dict) else str(value).encode()
            for name, value in encoded.items()
        }
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"the job snapshot cannot be read ({type(error).__name__})") from None
    job = Job(job_id, connection=connection, serializer=serializer)
    job.restore(fields)
    return job
