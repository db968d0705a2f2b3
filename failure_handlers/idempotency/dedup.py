"""Dedup at enqueue: a `dedup_key` becomes a stable job id, enqueued with RQ 3.0's `unique=True`.

RQ's unique enqueue (rq/scripts.py `UNIQUE_ENQUEUE_SCRIPT`) refuses an id whose job hash
`rq:job:<id>` exists, atomically, and raises `DuplicateJobError`; we return the existing job
instead. So a key is "taken" while RQ keeps the first job's hash: queued, scheduled (a retry
waiting), started, deferred, finished until its `result_ttl` (RQ's default 500 s; 0 = deleted at
once, -1 = kept), failed until its `failure_ttl` (default one year). See docs/rq-behaviour.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

from loguru import logger
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job

MAX_DEDUP_KEY_CHARS = 200
READABLE_CHARS = 40  # of the key, kept in the job id for the operator (the hash makes it unique)
ENQUEUE_ATTEMPTS = 3  # the existing job can expire between RQ's refusal and our fetch: enqueue again
_NOT_IN_JOB_ID = re.compile(r"[^A-Za-z0-9_-]+")


def validate_dedup_key(key: object) -> str:
    """The key, or `ValueError`: a non-blank string of at most 200 characters."""
    if not isinstance(key, str) or not key.strip():
        raise ValueError(f"dedup_key must be a non-empty string, not {key!r}")
    if len(key) > MAX_DEDUP_KEY_CHARS:
        raise ValueError(f"dedup_key is {len(key)} characters long, at most {MAX_DEDUP_KEY_CHARS} are allowed")
    return key


def function_name(func: Callable[..., Any] | str) -> str:
    """The dotted name RQ stores for `func` (`job.func_name`): `module.qualname`, or the string given."""
    if isinstance(func, str):
        return func
    return f"{func.__module__}.{func.__qualname__}"


def dedup_job_id(func: Callable[..., Any] | str, key: str) -> str:
    """`dedup-<readable part of the key>-<sha256 of function and key, 32 hex>`: the same function and
    key give the same id in every process; RQ's job id rules (letters, digits, `_`, `-`) hold."""
    validate_dedup_key(key)
    digest = hashlib.sha256(f"{function_name(func)}\n{key}".encode()).hexdigest()[:32]
    readable = _NOT_IN_JOB_ID.sub("_", key).strip("_")[:READABLE_CHARS]
    return f"dedup-{readable}-{digest}" if readable else f"dedup-{digest}"


def enqueue_once(enqueue: Callable[[], Job], fetch: Callable[[], Job], job_id: str, key: str) -> Job:
    """Run `enqueue` (a unique enqueue of `job_id`); if the id is taken, the existing job."""
    for _ in range(ENQUEUE_ATTEMPTS):
        try:
            return enqueue()
        except DuplicateJobError:
            try:
                existing = fetch()
            except NoSuchJobError:
                continue  # gone between RQ's refusal and our fetch: the key is free again
            logger.info(
                "Enqueue deduplicated: dedup_key {!r} is taken by job {} ({}); returning it",
                key,
                existing.id,
                getattr(existing.get_status(refresh=False), "value", "unknown"),
            )
            return existing
    raise RuntimeError(f"dedup_key {key!r}: job {job_id} kept appearing and expiring; try again")
