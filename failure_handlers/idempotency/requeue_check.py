"""Which failed jobs are no-ops to requeue: their task is `@idempotent` and its key is already done.

`rq-dlq requeue` skips them (`skipped <id>: already processed ...`) unless `--force`. The key is
computed as the worker would: the job's function is imported by its dotted name (as a worker does;
the command must run where the tasks are importable), its arguments are decoded with the
restricted unpickler of `jobs/safe_reader.py` (never running code from Redis). A job whose function
cannot be imported, is not idempotent, or whose arguments cannot be decoded safely is requeued
normally. One pipelined round trip for a whole batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from redis import Redis
from rq.utils import import_attribute

from failure_handlers.errors import IdempotencyKeyError
from failure_handlers.idempotency.execution import idempotency_of
from failure_handlers.idempotency.store import IdempotencyStore
from failure_handlers.jobs.safe_reader import safe_loads

ALREADY_PROCESSED = "already processed"


class JobCall(Protocol):
    """What the check reads of a job: an RQ `Job`, or the requeue's `LeanJob`."""

    @property
    def id(self) -> str: ...

    @property
    def data(self) -> bytes: ...


def already_processed(connection: Redis, prefix: str, jobs: Sequence[JobCall], serializer: str) -> dict[str, str]:
    """Job id -> why it is a no-op to requeue, for the jobs whose idempotency key is done."""
    pending: list[tuple[str, str, str]] = []  # job id, func name, key
    for job in jobs:
        if (found := _func_and_key(job, serializer)) is not None:
            pending.append((job.id, *found))
    records = IdempotencyStore(connection, prefix).done_records([(func, key) for _, func, key in pending])
    return {
        job_id: (
            f"{ALREADY_PROCESSED}: idempotency key {key!r} was done by job {record.get('job_id', '?')} "
            f"at {record.get('done_at', '?')} (--force runs it again)"
        )
        for (job_id, _, key), record in zip(pending, records, strict=True)
        if record is not None
    }


def _func_and_key(job: JobCall, serializer: str) -> tuple[str, str] | None:
    try:
        call: Any = safe_loads(job.data, serializer)
    except Exception:  # noqa: BLE001 - unreadable job data: requeued normally
        return None
    if not (isinstance(call, (list, tuple)) and len(call) == 4 and isinstance(call[0], str) and call[1] is None):
        return None
    func_name, _, args, kwargs = call
    try:
        options = idempotency_of(import_attribute(func_name))
    except Exception:  # noqa: BLE001 - not importable here (or its import fails): requeued normally
        return None
    if options is None:
        return None
    try:
        return options.func_name, options.key_for(tuple(args or ()), dict(kwargs or {}))
    except IdempotencyKeyError:
        return None
