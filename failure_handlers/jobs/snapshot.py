"""What a DLQ entry keeps to rebuild its RQ job after RQ's own job hash has expired or was deleted.

The snapshot is RQ's own job hash fields (as `Job.to_dict` writes them, without meta and result),
JSON-encoded with bytes in base64, so the job is rebuilt by RQ's `Job.restore`. The payload is
opaque here: nothing in list/show/stats decodes it; only requeue does, through RQ.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

from redis import Redis
from rq.job import Job
from rq.serializers import Serializer

MAX_SNAPSHOT_CHARS = 32_000  # larger jobs are not self-sufficient (their entry says so)
_DROPPED_FIELDS = frozenset(
    ("status", "started_at", "ended_at", "last_heartbeat", "worker_name", "exc_info", "result", "meta")
)


def take_snapshot(job: Job) -> str:
    """The snapshot of a live job (its fields as `Job.to_dict` writes them)."""
    return snapshot_of(job.to_dict(include_meta=False, include_result=False))


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
    text = json.dumps(encoded, default=str, separators=(",", ":"))
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
