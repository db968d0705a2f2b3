"""The archive's event stream in Redis, `<prefix>archive:events`, read by the consumer group `archiver`.

The DLQ's write scripts append the events (`storage/lua/prelude.lua` archive_event); here they are read
(`read_new`: new ones; `claim_stale`: the pending ones of an archiver that died), acknowledged once
their rows are committed (`ack`), and counted (`status`). At-least-once: an event is acknowledged
only after the transaction holding its row commits, so a crash between the two replays it, and the
upserts (`store.py`) make the replay change nothing.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

from failure_handlers.storage import scripts
from failure_handlers.storage.keys import ARCHIVE_GROUP, DlqKeys
from failure_handlers.storage.scripts import ScriptArg

STALE_CONSUMER_SECONDS = 3600  # consumers idle this long with nothing pending are removed from the group


@dataclass(frozen=True)
class Event:
    """One stream entry: a dead-lettering (`dead`, with the entry's fields), an outcome of one, or an
    operator action (`audit`, with the audit log's JSON record; `archive_id` is `audit:<stream id>`)."""

    stream_id: str
    seq: int
    kind: str  # "dead" or "outcome"
    archive_id: str  # the dead-lettering's id: the row's `dead_letter_id`
    job_id: str
    at: float  # epoch seconds
    entry: dict[str, Any] = field(default_factory=dict)  # for `dead`: DeadLetterEntry.to_hash()
    outcome: str = ""  # for `outcome`
    by: str = ""
    record: dict[str, Any] = field(default_factory=dict)  # for `audit`

    @classmethod
    def parse(cls, stream_id: bytes | str, raw: dict[bytes, bytes] | Sequence[bytes]) -> Event:
        """From a stream entry; garbled fields become empty values (a row is still written)."""
        if not isinstance(raw, dict):
            raw = dict(zip(raw[::2], raw[1::2], strict=True))
        values = {_text(key): _text(value) for key, value in raw.items()}
        try:
            entry = json.loads(values.get("entry") or "{}")
        except ValueError:
            entry = {}
        try:
            record = json.loads(values.get("record") or "{}")
        except ValueError:
            record = {}
        return cls(
            stream_id=_text(stream_id),
            seq=_number(values.get("seq"), int),
            kind=values.get("type", ""),
            archive_id=values.get("id", ""),
            job_id=values.get("job", ""),
            at=_number(values.get("at"), float),
            entry=entry if isinstance(entry, dict) else {},
            outcome=values.get("outcome", ""),
            by=values.get("by", ""),
            record=record if isinstance(record, dict) else {},
        )


class EventStream:
    """The archive's stream and the archiver's consumer group on it."""

    def __init__(self, connection: Redis, prefix: str, consumer: str | None = None) -> None:
        self.connection = connection
        self.keys = DlqKeys(prefix)
        self.key = self.keys.archive_events
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}"

    def ensure_group(self) -> None:
        """Create the group at the stream's very start (events appended before any archiver ran count)."""
        try:
            self.connection.xgroup_create(self.key, ARCHIVE_GROUP, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def read_new(self, count: int) -> list[Event]:
        """Up to `count` events never delivered to the group; counts the ones trimmed unread as lost."""
        args: list[ScriptArg] = [self.keys.prefix, ARCHIVE_GROUP, self.consumer, count]
        try:
            entries = scripts.ARCHIVE_READ.run(self.connection, args)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            self.ensure_group()  # the stream was deleted (FLUSHDB, a new server): start again
            entries = scripts.ARCHIVE_READ.run(self.connection, args)
        return [Event.parse(stream_id, fields) for stream_id, fields in entries]

    def claim_stale(self, min_idle_seconds: float, count: int) -> list[Event]:
        """Events delivered to another consumer and not acknowledged for `min_idle_seconds`: an
        archiver that died mid-batch. Pending events trimmed from the stream meanwhile are lost: counted."""
        events: list[Event] = []
        start = "0-0"
        while len(events) < count:
            reply = self.connection.xautoclaim(
                self.key, ARCHIVE_GROUP, self.consumer, int(min_idle_seconds * 1000), start, count=count - len(events)
            )
            start, claimed = reply[0], reply[1]
            deleted = reply[2] if len(reply) > 2 else []
            if deleted:
                self.connection.hincrby(self.keys.archive_state, "lost", len(deleted))
            events += [Event.parse(stream_id, fields) for stream_id, fields in claimed if fields is not None]
            if start in (b"0-0", "0-0"):
                break
        return events

    def ack(self, events: Sequence[Event], rows: int) -> None:
        """After the commit: the events are done; note the batch for `status`."""
        with self.connection.pipeline(transaction=False) as pipe:
            if events:
                pipe.xack(self.key, ARCHIVE_GROUP, *[event.stream_id for event in events])
            pipe.hset(self.keys.archive_state, mapping={"last_batch_at": time.time(), "last_batch_rows": rows})
            pipe.hdel(self.keys.archive_state, "last_error")
            pipe.execute()

    def note(self, **values: str | float) -> None:
        """Record facts for `status` (last_error, last_sweep_at...)."""
        fields: dict[FieldT, EncodableT] = {name: value for name, value in values.items()}
        self.connection.hset(self.keys.archive_state, mapping=fields)

    def forget_idle_consumers(self) -> int:
        """Remove consumers of earlier archiver processes that hold nothing and have been idle long."""
        removed = 0
        for consumer in self.connection.xinfo_consumers(self.key, ARCHIVE_GROUP):
            if consumer["pending"] == 0 and consumer["idle"] > STALE_CONSUMER_SECONDS * 1000:
                name = consumer["name"]
                if _text(name) != self.consumer:
                    removed += self.connection.xgroup_delconsumer(self.key, ARCHIVE_GROUP, name) >= 0
        return removed

    def status(self) -> StreamStatus:
        """The stream's figures: appended, delivered, lag, pending, lost, length, last batch."""
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.get(self.keys.archive_seq)
            pipe.hgetall(self.keys.archive_state)
            pipe.xlen(self.key)
            pipe.xpending(self.key, ARCHIVE_GROUP)
            appended, state, length, pending = pipe.execute(raise_on_error=False)
        state = {} if isinstance(state, Exception) else {_text(k): _text(v) for k, v in state.items()}
        pending_count = int(pending["pending"]) if isinstance(pending, dict) else 0
        delivered = int(state.get("delivered_seq") or 0)
        appended_count = int(appended or 0)
        return StreamStatus(
            appended=appended_count,
            delivered=delivered,
            lag=max(0, appended_count - delivered),
            pending=pending_count,
            lost=int(state.get("lost") or 0),
            length=int(length) if not isinstance(length, Exception) else 0,
            last_batch_at=float(state["last_batch_at"]) if state.get("last_batch_at") else None,
            last_batch_rows=int(state.get("last_batch_rows") or 0),
            last_sweep_at=float(state["last_sweep_at"]) if state.get("last_sweep_at") else None,
            last_error=state.get("last_error", ""),
        )


@dataclass(frozen=True)
class StreamStatus:
    appended: int  # events ever appended (<prefix>archive:seq)
    delivered: int  # the number of the last event handed to an archiver
    lag: int  # appended, not yet handed to an archiver
    pending: int  # handed to an archiver, not yet acknowledged (rows not yet committed)
    lost: int  # trimmed by ARCHIVE_STREAM_MAXLEN before an archiver read them
    length: int  # entries in the stream now
    last_batch_at: float | None
    last_batch_rows: int
    last_sweep_at: float | None
    last_error: str


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def _number(text: str | None, kind: type) -> Any:
    try:
        return kind(text)
    except (TypeError, ValueError):
        return kind(0)
