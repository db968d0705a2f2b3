"""Pause and resume one RQ queue: the state in `<prefix>queues:paused` (storage/keys.py).

RQ has only a global `rq suspend`. A paused queue keeps its jobs (nothing is moved or deleted); a
worker of our class (`queues/worker.py`) takes no job from it until it is resumed, and keeps
serving its other queues. A worker without our class ignores the pause (docs/incidents.md).
The CLI (`rq-dlq pause/resume`), the dashboard and the API are thin layers over `pause_queue`,
`resume_queue` and `paused_queues`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from rq import Queue

from failure_handlers.audit import Actor, AuditLog, os_actor
from failure_handlers.audit.reports import record_queue_change
from failure_handlers.errors import OperatorError
from failure_handlers.storage.keys import DlqKeys

MAX_REASON_CHARS = 300


@dataclass(frozen=True)
class PauseState:
    """One paused queue: why, since when, by whom (texts as the operator gave them, bounded)."""

    queue: str
    reason: str
    paused_at: str  # UTC ISO 8601
    by: str

    def as_json(self) -> dict[str, str]:
        return {"queue": self.queue, "reason": self.reason, "paused_at": self.paused_at, "by": self.by}


@dataclass(frozen=True)
class PauseChange:
    """What `pause_queue` / `resume_queue` did (or would do, in a dry run)."""

    queue: str
    action: str  # "paused", "resumed", "already paused", "not paused"; "would ..." in a dry run
    queued: int  # jobs waiting on the queue right now

    @property
    def changed(self) -> bool:
        return self.action in ("paused", "resumed")

    def line(self) -> str:
        return f"{self.action} queue {self.queue!r} ({self.queued:,} jobs queued)"


def known_queues(connection: Redis) -> set[str]:
    """Queue names RQ knows (`rq:queues`), plus none: a queue nobody enqueued to is unknown."""
    return {queue.name for queue in Queue.all(connection=connection)}


def require_known_queue(connection: Redis, name: str) -> None:
    """Raise `OperatorError` (one line) unless RQ knows a queue called `name`."""
    if not name or name not in known_queues(connection):
        known = ", ".join(sorted(known_queues(connection))[:10]) or "none"
        raise OperatorError(f"unknown queue {name!r} (RQ knows: {known})")


def paused_queues(connection: Redis, keys: DlqKeys) -> dict[str, PauseState]:
    """Every paused queue, by name (one HGETALL)."""
    raw = connection.hgetall(keys.paused_queues)
    return {name: _state(name, value) for name, value in ((_text(k), _text(v)) for k, v in raw.items())}


def paused_among(connection: Redis, keys: DlqKeys, names: Sequence[str]) -> set[str]:
    """Which of `names` are paused (one HMGET): what a worker reads before and after it dequeues."""
    if not names:
        return set()
    values = connection.hmget(keys.paused_queues, list(names))
    return {name for name, value in zip(names, values, strict=True) if value is not None}


def pause_queue(
    connection: Redis,
    keys: DlqKeys,
    name: str,
    reason: str = "",
    by: str = "",
    dry_run: bool = False,
    audit: AuditLog | None = None,
    actor: Actor | None = None,
) -> PauseChange:
    """Pause queue `name` (it must exist): workers of our class stop taking its jobs within seconds.
    Recorded in the audit log (`audit`, by default this prefix's; by `actor`, by default the OS user)."""
    require_known_queue(connection, name)
    queued = Queue(name, connection=connection).count
    state = {"reason": " ".join(reason.split())[:MAX_REASON_CHARS], "paused_at": _now(), "by": by}
    if dry_run:
        paused = connection.hexists(keys.paused_queues, name)
        return PauseChange(name, "already paused" if paused else "would pause", queued)
    added = connection.hsetnx(keys.paused_queues, name, json.dumps(state))
    change = PauseChange(name, "paused" if added else "already paused", queued)
    _record(connection, keys, "pause", change, audit, actor, state["reason"])
    return change


def resume_queue(
    connection: Redis,
    keys: DlqKeys,
    name: str,
    dry_run: bool = False,
    audit: AuditLog | None = None,
    actor: Actor | None = None,
) -> PauseChange:
    """Resume queue `name`: workers of our class take its jobs again within seconds (recorded as a pause is)."""
    paused = connection.hexists(keys.paused_queues, name)
    if not paused:
        require_known_queue(connection, name)
    queued = Queue(name, connection=connection).count
    if dry_run:
        return PauseChange(name, "would resume" if paused else "not paused", queued)
    removed = connection.hdel(keys.paused_queues, name)
    change = PauseChange(name, "resumed" if removed else "not paused", queued)
    _record(connection, keys, "resume", change, audit, actor)
    return change


def _record(
    connection: Redis,
    keys: DlqKeys,
    action: str,
    change: PauseChange,
    audit: AuditLog | None,
    actor: Actor | None,
    detail: str = "",
) -> None:
    log = audit or AuditLog(connection, keys.prefix)
    record_queue_change(log, action, actor or os_actor("python"), change.queue, change.changed, change.line(), detail)


def _state(name: str, text: str) -> PauseState:
    try:
        data: Any = json.loads(text)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return PauseState(name, str(data.get("reason", "")), str(data.get("paused_at", "")), str(data.get("by", "")))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
