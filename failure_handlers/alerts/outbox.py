"""Pending deliveries: every notification stays in Redis until a channel took it.

A delivery is put in the outbox in the same atomic step as its claim (`lua/alert_claim.lua`). Any
`rq-dlq alert` process takes the due ones under a lease (SET NX EX, so one process at a time per
delivery), and on failure puts it back with exponential backoff (ALERT_RETRY_SECONDS doubling up to
ALERT_RETRY_MAX_SECONDS), its attempts and last (redacted) error recorded. Nothing is dropped:
`rq_dlq_alert_deliveries_pending` and `rq-dlq alert` show what is waiting.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from redis import Redis

from failure_handlers.alerts.messages import Message
from failure_handlers.dlq.text import member_list
from failure_handlers.storage.keys import DlqKeys

TAKE_BATCH = 100


@dataclass(frozen=True)
class Delivery:
    id: str
    channel: str
    message: Message
    attempts: int = 0
    last_error: str = ""

    def to_json(self) -> str:
        data = {"channel": self.channel, "message": self.message.as_json(), "attempts": self.attempts}
        return json.dumps({**data, "last_error": self.last_error}, ensure_ascii=False)

    @classmethod
    def from_json(cls, delivery_id: str, raw: str | bytes) -> Delivery:
        data: dict[str, Any] = json.loads(raw)
        return cls(
            delivery_id, data["channel"], Message.from_json(data["message"]), data["attempts"], data["last_error"]
        )


def new_deliveries(message: Message, channels: list[str]) -> list[Delivery]:
    return [Delivery(uuid.uuid4().hex, channel, message) for channel in channels]


def claim_args(deliveries: list[Delivery]) -> list[str]:
    """The (id, JSON) pairs `alert_claim.lua` writes to the outbox when its call wins."""
    return [part for delivery in deliveries for part in (delivery.id, delivery.to_json())]


class Outbox:
    def __init__(self, connection: Redis, keys: DlqKeys, retry_seconds: float, retry_max_seconds: float) -> None:
        self.connection = connection
        self.keys = keys
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds

    def take_due(self, now: float, lease_seconds: int) -> list[Delivery]:
        """The deliveries due at `now` that this process now holds a lease on."""
        due = self.connection.zrangebyscore(self.keys.alert_outbox, "-inf", now, start=0, num=TAKE_BATCH)
        ids = member_list(due)
        if not ids:
            return []
        with self.connection.pipeline(transaction=False) as pipe:
            for delivery_id in ids:
                pipe.set(self.keys.alert_lease(delivery_id), now, nx=True, ex=max(1, lease_seconds))
                pipe.get(self.keys.alert_delivery(delivery_id))
            replies = pipe.execute()
        taken = []
        for n, delivery_id in enumerate(ids):
            leased, raw = replies[2 * n], replies[2 * n + 1]
            if leased and raw:
                taken.append(Delivery.from_json(delivery_id, raw))
            elif leased:  # its record is gone (delivered by another process meanwhile)
                self.connection.zrem(self.keys.alert_outbox, delivery_id)
        return taken

    def done(self, delivery: Delivery) -> None:
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.alert_outbox, delivery.id)
            pipe.delete(self.keys.alert_delivery(delivery.id), self.keys.alert_lease(delivery.id))
            pipe.execute()

    def failed(self, delivery: Delivery, reason: str, now: float) -> tuple[Delivery, float]:
        """Back in the outbox, due after the backoff; returns it and the seconds until its next attempt."""
        retried = Delivery(delivery.id, delivery.channel, delivery.message, delivery.attempts + 1, reason)
        wait = min(self.retry_max_seconds, self.retry_seconds * 2 ** (retried.attempts - 1))
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.alert_delivery(delivery.id), retried.to_json())
            pipe.zadd(self.keys.alert_outbox, {delivery.id: now + wait})
            pipe.delete(self.keys.alert_lease(delivery.id))
            pipe.execute()
        return retried, wait

    def pending(self) -> int:
        return int(self.connection.zcard(self.keys.alert_outbox))
