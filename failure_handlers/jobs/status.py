"""The status of an RQ job, read without deserializing anything (no pickle is loaded)."""

from __future__ import annotations

from collections.abc import Sequence

from redis import Redis
from rq.exceptions import InvalidJobOperation
from rq.job import Job


def job_statuses(connection: Redis, job_ids: Sequence[str]) -> list[str | None]:
    """Each job's status field (None where the hash is gone): one pipelined round trip."""
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(Job.key_for(job_id), "status")
        return [value.decode() if value else None for value in pipe.execute()]


def job_status(connection: Redis, job_id: str) -> str:
    """`failed`, `queued`, ... or a sentence saying RQ's job hash is gone."""
    try:
        return Job(job_id, connection=connection).get_status(refresh=True).value
    except InvalidJobOperation:
        return "gone (RQ's job hash expired or was deleted)"
    except ValueError:
        return "not a valid RQ job id"
