"""Doing a job's work once: dedup at enqueue (`dedup_key`) and idempotent execution (`@idempotent`)."""

from failure_handlers.errors import IdempotencyKeyBusy, IdempotencyKeyError
from failure_handlers.idempotency.dedup import dedup_job_id, validate_dedup_key
from failure_handlers.idempotency.execution import IdempotencyOptions, idempotency_of, idempotent
from failure_handlers.idempotency.store import IdempotencyStore

__all__ = [
    "IdempotencyKeyBusy",
    "IdempotencyKeyError",
    "IdempotencyOptions",
    "IdempotencyStore",
    "dedup_job_id",
    "idempotency_of",
    "idempotent",
    "validate_dedup_key",
]
