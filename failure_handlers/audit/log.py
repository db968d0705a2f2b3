"""The audit log in Redis: `<prefix>audit`, a stream trimmed to AUDIT_MAX_ENTRIES (exactly: a few
records a minute at most, so exact trimming costs nothing).

`record` appends one action in one script call (`lua/audit.lua`): the stream entry and, when the
failure archive is on, its `audit` event on the archive's stream in the same atomic step, which the
archiver writes into the SQL `audit` table. Reads (`read`) never write: a read-only ACL user can
run `rq-dlq audit`, the Activity page and `GET /api/audit`.

Job ids, filters and details are hostile text (a job id is whatever the enqueuer chose): every text
is bounded here, and escaped where it is shown (Jinja autoescape, JSON, rich's markup off).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis import Redis

from failure_handlers.audit.actor import Actor
from failure_handlers.storage import scripts
from failure_handlers.storage.keys import DlqKeys
from failure_handlers.storage.scripts import ScriptArg

if TYPE_CHECKING:
    from failure_handlers.config import Settings

IDS_KEPT = 100  # job ids kept per record; `count` stays exact
TEXT_LIMIT = 1_000  # characters of a filter, summary or detail
ID_LIMIT = 255
ACTIONS = ("requeue", "replay", "delete", "purge", "dismiss", "pause", "resume")
OUTCOMES = ("ok", "partial", "failed", "refused", "nothing")
READ_BATCH = 500


@dataclass(frozen=True)
class Target:
    """What an action was aimed at: ids, or a filter and how many it matched (or a queue)."""

    ids: Sequence[str] = ()
    filter: str = ""  # `queue=billing exc_type=KeyError`, `everything`, `selected on the list`
    matched: int | None = None  # how many the filter matched; default: len(ids)
    queue: str = ""  # pause / resume

    @property
    def count(self) -> int:
        return self.matched if self.matched is not None else len(self.ids)


@dataclass(frozen=True)
class AuditRecord:
    id: str  # the stream id (milliseconds-sequence)
    at: float
    action: str
    actor: str
    via: str
    role: str
    address: str
    ids: list[str] = field(default_factory=list)
    count: int = 0
    filter: str = ""
    queue: str = ""
    outcome: str = ""
    summary: str = ""
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def parse(cls, stream_id: bytes | str, raw: Any) -> AuditRecord:
        """From a stream entry; a garbled record still reads (as empty values)."""
        sid = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
        try:
            raw = raw or {}
            data = json.loads(raw.get(b"record") or raw.get("record") or "{}")
        except ValueError:
            data = {}
        data = data if isinstance(data, dict) else {}
        ids = data.get("ids")
        return cls(
            id=sid,
            at=_number(data.get("at")),
            ids=[bounded(job_id, ID_LIMIT) for job_id in ids] if isinstance(ids, list) else [],
            count=int(_number(data.get("count"))),
            **{name: bounded(data.get(name, ""), TEXT_LIMIT) for name in _TEXTS},
        )


_TEXTS = ("action", "actor", "via", "role", "address", "filter", "queue", "outcome", "summary", "detail")


class AuditLog:
    """The audit stream of one DLQ prefix.

    `max_entries` 0 appends without trimming (a Python caller that did not pass the deployment's
    AUDIT_MAX_ENTRIES must not cut a longer log short; the next configured writer trims it).
    `archive_maxlen` > 0 (ARCHIVE_URL set) also appends the record to the archive's event stream.
    """

    def __init__(self, connection: Redis, prefix: str, max_entries: int = 0, archive_maxlen: int = 0) -> None:
        self.connection = connection
        self.keys = DlqKeys(prefix)
        self.max_entries = max_entries
        self.archive_maxlen = archive_maxlen

    @classmethod
    def from_settings(cls, connection: Redis, settings: Settings) -> AuditLog:
        """From the composed `config.Settings` (DLQ_PREFIX, AUDIT_MAX_ENTRIES, the archive's bound)."""
        return cls(connection, settings.dlq.prefix, settings.audit.max_entries, settings.archive.stream_bound)

    def record(
        self,
        action: str,
        actor: Actor,
        target: Target,
        outcome: str,
        summary: str = "",
        detail: str = "",
        at: float | None = None,
    ) -> str:
        """Append one action; returns its stream id. `outcome`: ok, partial (some skipped or failed),
        failed, refused (not allowed: a role, read-only) or nothing (matched nothing)."""
        now = time.time() if at is None else at
        data = {
            "at": now,
            "action": bounded(action, 32),
            "actor": bounded(actor.name, ID_LIMIT),
            "via": bounded(actor.via, 16),
            "role": bounded(actor.role, 16),
            "address": bounded(actor.address, ID_LIMIT),
            "ids": [bounded(job_id, ID_LIMIT) for job_id in list(target.ids)[:IDS_KEPT]],
            "count": target.count,
            "filter": bounded(target.filter, TEXT_LIMIT),
            "queue": bounded(target.queue, ID_LIMIT),
            "outcome": bounded(outcome, 16),
            "summary": bounded(summary, TEXT_LIMIT),
            "detail": bounded(detail, TEXT_LIMIT),
        }
        text = json.dumps(data, ensure_ascii=False)
        args: list[ScriptArg] = [self.keys.prefix, self.max_entries, self.archive_maxlen, repr(now), text]
        reply = scripts.AUDIT.run(self.connection, args)
        return reply.decode() if isinstance(reply, bytes) else str(reply)

    def read(
        self, since: float | None = None, actor: str | None = None, action: str | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """The newest records first: at or after `since` (epoch seconds), by an actor whose name
        contains `actor` (case-insensitive), of `action`; at most `limit`. Reads only."""
        low = f"{int(since * 1000)}-0" if since is not None else "-"
        high = "+"
        found: list[AuditRecord] = []
        needle = actor.lower() if actor else None
        while len(found) < limit:
            rows: list[Any] = self.connection.xrevrange(self.keys.audit, high, low, count=READ_BATCH) or []
            for stream_id, raw in rows:
                record = AuditRecord.parse(stream_id, raw)
                if needle and needle not in record.actor.lower():
                    continue
                if action and record.action != action:
                    continue
                found.append(record)
                if len(found) >= limit:
                    break
            if len(rows) < READ_BATCH:
                break
            high = f"({_text(rows[-1][0])}"
        return found

    def length(self) -> int:
        return int(self.connection.xlen(self.keys.audit))


def outcome_of(done: int, skipped: int, errors: int) -> str:
    """ok / partial / failed / nothing from a run's counts (pure)."""
    if errors and not done:
        return "failed"
    if done:
        return "partial" if errors or skipped else "ok"
    return "nothing"


def bounded(value: Any, limit: int) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    text = text.encode("utf-8", errors="replace").decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
