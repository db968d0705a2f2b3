"""`@idempotent(key=..., ttl=...)`: a task whose work, once it succeeded for a key, is not done again.

Before the body runs, one round trip: if the key is marked done, the stored result is returned
and the body is not run (logged); else this run takes the key's in-progress lock. When the body
returns, one round trip marks the key done (with the result, for `ttl` seconds) and releases the
lock; when it raises, one round trip releases the lock and the exception goes on (the job is
retried as usual, and a later run may do the work).

Concurrency: two runs of one key at once (a duplicate job, a requeue while the original still
runs): the second finds the lock and raises `IdempotencyKeyBusy` (retryable, `retry_after` = the
lock's remaining time); its retry then finds the key done. The lock lasts the job's timeout plus
LOCK_MARGIN_SECONDS (RQ stops a run at its timeout), or `lock_ttl`; a run of the same job id (RQ
re-running an abandoned job) takes its own lock back at once.

The result is stored as JSON: a replay returns what JSON gives back (tuples as lists, etc.). A
result JSON cannot represent is not stored: the key is still marked done (the work happened) and
a replay returns None; a warning is logged.
"""

from __future__ import annotations

import functools
import inspect
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from loguru import logger
from redis.exceptions import RedisError
from rq import get_current_job

from failure_handlers import runtime
from failure_handlers.errors import IdempotencyKeyBusy, IdempotencyKeyError
from failure_handlers.idempotency.dedup import function_name
from failure_handlers.idempotency.store import IdempotencyStore
from failure_handlers.recording.failure_record import utc_now_iso
from failure_handlers.storage.keys import META_IDEMPOTENCY_FORCE

IDEMPOTENCY_ATTRIBUTE = "__rq_idempotency__"
DEFAULT_TTL_SECONDS = 7 * 24 * 3600
MAX_KEY_CHARS = 200
LOCK_MARGIN_SECONDS = 10
DEFAULT_LOCK_SECONDS = 300  # outside a job, or a job without a timeout

P = ParamSpec("P")
R = TypeVar("R")
KeySpec = str | Callable[..., str]


@dataclass(frozen=True)
class IdempotencyOptions:
    key: KeySpec  # a format string over the call's arguments, or a callable(*args, **kwargs) -> str
    ttl: int  # seconds the done marker (and its result) is kept
    lock_ttl: int | None  # seconds; None: the job's timeout + LOCK_MARGIN_SECONDS
    func_name: str  # module.qualname, as RQ stores it
    signature: inspect.Signature | None

    def key_for(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        """The key of this call; `IdempotencyKeyError` (permanent) if it cannot be built or is unusable."""
        try:
            if callable(self.key):
                key = self.key(*args, **kwargs)
            else:
                bound = self.signature.bind(*args, **kwargs) if self.signature else None
                if bound is not None:
                    bound.apply_defaults()
                    key = self.key.format(*bound.args, **bound.arguments)
                else:
                    key = self.key.format(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any key bug is reported the same way
            raise IdempotencyKeyError(
                f"{self.func_name}: cannot build the idempotency key from {self.key!r}: {type(error).__name__}: {error}"
            ) from None
        return validate_key(self.func_name, key)


def validate_key(func_name: str, key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise IdempotencyKeyError(f"{func_name}: the idempotency key must be a non-empty string, got {key!r}")
    if len(key) > MAX_KEY_CHARS or any(ord(char) < 32 or ord(char) == 127 for char in key):
        raise IdempotencyKeyError(
            f"{func_name}: the idempotency key must be at most {MAX_KEY_CHARS} printable characters, got {key[:60]!r}"
        )
    return key


def idempotent(
    key: KeySpec, ttl: int = DEFAULT_TTL_SECONDS, lock_ttl: int | None = None
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the task's body once per key; see the module docstring.

    `@idempotent(key="invoice:{invoice_id}")` or `@idempotent(key=lambda invoice_id, **_: ...)`.
    """
    if not callable(key) and (not isinstance(key, str) or not key.strip()):
        raise ValueError(f"idempotent: key must be a format string or a callable, not {key!r}")
    for label, value in (("ttl", ttl), ("lock_ttl", lock_ttl)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            raise ValueError(f"idempotent: {label} must be a whole number of seconds >= 1, not {value!r}")

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        try:
            signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            signature = None
        options = IdempotencyOptions(key, ttl, lock_ttl, function_name(func), signature)

        @functools.wraps(func)
        def run_once(*args: P.args, **kwargs: P.kwargs) -> R:
            return _run_once(func, options, args, kwargs)

        setattr(run_once, IDEMPOTENCY_ATTRIBUTE, options)
        return run_once

    return decorate


def idempotency_of(func: Any) -> IdempotencyOptions | None:
    """The `@idempotent` options of a task function, or None."""
    options = getattr(func, IDEMPOTENCY_ATTRIBUTE, None)
    return options if isinstance(options, IdempotencyOptions) else None


def _run_once(
    func: Callable[..., Any], options: IdempotencyOptions, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    key = options.key_for(args, kwargs)
    job = get_current_job()
    connection = job.connection if job is not None else runtime.default_connection()
    store = IdempotencyStore(connection, runtime.settings().dlq.prefix)
    owner = job.id if job is not None else f"local-{uuid.uuid4().hex}"
    force = bool(job is not None and job.meta.get(META_IDEMPOTENCY_FORCE))
    begin = store.begin(options.func_name, key, owner, _lock_seconds(options, job), force)
    if begin.outcome == "done":
        record = begin.record or {}
        logger.info(
            "Job {} skipped: idempotency key {!r} of {} was already processed (by job {} at {}); "
            "returning the stored result without running it",
            owner,
            key,
            options.func_name,
            record.get("job_id", "?"),
            record.get("done_at", "?"),
        )
        return record.get("result")
    if begin.outcome == "busy":
        raise IdempotencyKeyBusy(key, begin.retry_after)
    if force:
        logger.warning("Job {}: idempotency key {!r} forced (rq-dlq requeue --force): running it again", owner, key)
    try:
        result = func(*args, **kwargs)
    except BaseException:
        try:
            store.release(options.func_name, key, owner)
        except RedisError:
            logger.opt(exception=True).error("Job {}: could not release idempotency lock {!r}", owner, key)
        raise
    try:
        store.done(options.func_name, key, owner, _record_json(owner, key, result), options.ttl)
    except RedisError:  # the work is done: failing the job now would make a retry do it again
        logger.opt(exception=True).error(
            "Job {}: succeeded but could not mark idempotency key {!r} done; a re-run would run it again", owner, key
        )
    return result


def _lock_seconds(options: IdempotencyOptions, job: Any) -> float:
    if options.lock_ttl:
        return options.lock_ttl
    timeout = getattr(job, "timeout", None)
    if isinstance(timeout, (int, float)) and timeout > 0:
        return timeout + LOCK_MARGIN_SECONDS
    return DEFAULT_LOCK_SECONDS


def _record_json(owner: str, key: str, result: Any) -> str:
    record = {"result": result, "job_id": owner, "done_at": utc_now_iso(), "result_stored": True}
    try:
        return json.dumps(record)
    except (TypeError, ValueError):
        logger.warning(
            "Job {}: the result of idempotency key {!r} is not JSON-serialisable ({}); the key is marked done "
            "and a replay returns None",
            owner,
            key,
            type(result).__name__,
        )
        return json.dumps({**record, "result": None, "result_stored": False})
