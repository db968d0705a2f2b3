"""RQ's maintenance lock of a queue, as the reconciler takes it (`storage/lua/maintenance_lock.lua`).

RQ 3.0's workers hold `rq:clean_registries:<queue>` (value 1, 899 s) while they clean a queue and
delete it after. A worker SIGKILLed while it cleans, or a SET whose reply a Redis restart lost, leaves
it for 15 minutes: meanwhile nobody cleans the queue's intermediate queue, and a job whose worker died
between dequeue and start stays there (the chaos experiment's "1999/2000 jobs terminal" at its
deadline). The reconciler therefore holds the lock under a token of its own for `HOLD_SECONDS` only,
and takes over a worker's lock held longer than any cleanup takes (`LEFT_BEHIND_SECONDS`).
"""

from __future__ import annotations

import uuid

from redis import Redis

from failure_handlers.storage import scripts
from failure_handlers.storage.scripts import ScriptArg

RQ_LOCK_SECONDS = 899  # rq.Queue.acquire_maintenance_lock (rq 3.0)
HOLD_SECONDS = 60  # ours: a reconciler that dies holding it, or loses the reply, frees it within a minute
LEFT_BEHIND_SECONDS = 120  # a worker's cleanup takes seconds: a lock of theirs held this long was left behind


class MaintenanceLock:
    """One queue's maintenance lock, held by this reconciler pass under its own token."""

    def __init__(self, connection: Redis, prefix: str, key: str) -> None:
        self.connection = connection
        self.prefix = prefix
        self.key = key
        self.token = f"reconciler:{uuid.uuid4().hex}"

    def take(self) -> bool:
        """True if the lock is ours now: it was free, or a worker's left behind."""
        args: list[ScriptArg] = [
            self.prefix,
            "take",
            self.key,
            self.token,
            HOLD_SECONDS,
            RQ_LOCK_SECONDS,
            LEFT_BEHIND_SECONDS,
        ]
        return bool(scripts.MAINTENANCE_LOCK.run(self.connection, args))

    def release(self) -> None:
        """Give it back, if it is still ours."""
        scripts.MAINTENANCE_LOCK.run(self.connection, [self.prefix, "release", self.key, self.token])
