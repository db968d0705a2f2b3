"""Where an idempotent task's keys live: done markers (with the result) and in-progress locks.

Each call is one script call (`storage/lua/idempotency.lua`), one round trip; `done_records` reads many
keys in one pipelined round trip (for `rq-dlq requeue`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis

from failure_handlers.storage.keys import DlqKeys
from failure_handlers.storage.scripts import IDEMPOTENCY


@dataclass(frozen=True)
class Begin:
    outcome: str  # 'done' (already processed: `record`), 'run' (the lock is ours), 'busy' (another run has it)
    record: dict[str, Any] | None = None  # the done marker: result, job_id, done_at
    retry_after: float = 0.0  # 'busy': seconds until the other run's lock expires


class IdempotencyStore:
    def __init__(self, connection: Redis, prefix: str) -> None:
        self.connection = connection
        self.prefix = prefix
        self.keys = DlqKeys(prefix)

    def begin(self, func: str, key: str, owner: str, lock_seconds: float, force: bool = False) -> Begin:
        """Done already? Else take the lock for `lock_seconds` (a re-run of the same job takes its own back)."""
        lock_ms = max(1, int(lock_seconds * 1000))
        outcome, value = IDEMPOTENCY.run(
            self.connection, (self.prefix, "begin", func, key, owner, lock_ms, "1" if force else "0")
        )
        outcome = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
        if outcome == "done":
            return Begin("done", record=_record(value))
        if outcome == "busy":
            return Begin("busy", retry_after=max(0, int(value)) / 1000)
        return Begin("run")

    def done(self, func: str, key: str, owner: str, record_json: str, ttl: int) -> None:
        """Mark the key done for `ttl` seconds with its record, and release our lock."""
        IDEMPOTENCY.run(self.connection, (self.prefix, "done", func, key, owner, record_json, ttl))

    def release(self, func: str, key: str, owner: str) -> None:
        """The run failed: release our lock so that a later run may try."""
        IDEMPOTENCY.run(self.connection, (self.prefix, "release", func, key, owner))

    def done_records(self, func_keys: Sequence[tuple[str, str]]) -> list[dict[str, Any] | None]:
        """The done marker of each (func, key), None where not done: one pipelined round trip."""
        if not func_keys:
            return []
        with self.connection.pipeline(transaction=False) as pipe:
            for func, key in func_keys:
                pipe.get(self.keys.idempotency_done(func, key))
            values = pipe.execute()
        return [_record(value) if value is not None else None for value in values]


def _record(value: bytes | str | None) -> dict[str, Any]:
    try:
        record = json.loads(value or "{}")
    except ValueError:
        record = {}
    return record if isinstance(record, dict) else {}
