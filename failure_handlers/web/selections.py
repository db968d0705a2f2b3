"""The job ids a bulk action was confirmed for, kept server-side until it runs.

The confirmation page states a count; the action then runs on exactly those ids, never on the
filter evaluated again: jobs that fail while it runs, or after the operator looked, are not
swept in (Sidekiq's "Retry All" loop). The list lives in Redis under
`<prefix>web:selection:<token>` (declared in `storage/keys.py`) for `SELECTION_TTL_SECONDS`, and is
taken with GETDEL, so a double submit runs the action once.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field

from redis import Redis

from failure_handlers.storage.keys import DlqKeys

SELECTION_TTL_SECONDS = 15 * 60
ACTIONS = ("requeue", "delete")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


@dataclass(frozen=True)
class PendingAction:
    action: str  # "requeue" or "delete"
    ids: list[str]
    description: str  # what was selected: "selected on the list", "queue=billing", ...
    created_at: float = field(default_factory=time.time)
    missing: int = 0  # ids given that were no longer in the DLQ when it was prepared


def save(connection: Redis, keys: DlqKeys, pending: PendingAction) -> str:
    """Store `pending`; returns the token that names it."""
    token = secrets.token_urlsafe(32)
    connection.set(keys.selection(token), json.dumps(asdict(pending)), ex=SELECTION_TTL_SECONDS)
    return token


def peek(connection: Redis, keys: DlqKeys, token: str) -> PendingAction | None:
    """The pending action named by `token`, left in place (for the confirmation page)."""
    return _decode(connection.get(keys.selection(token))) if valid_token(token) else None


def take(connection: Redis, keys: DlqKeys, token: str) -> PendingAction | None:
    """The pending action, removed atomically: of two submits of one confirmation, one gets it."""
    return _decode(connection.getdel(keys.selection(token))) if valid_token(token) else None


def valid_token(token: str) -> bool:
    return bool(_TOKEN.match(token))


def _decode(raw: bytes | str | None) -> PendingAction | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        return PendingAction(**data)
    except (ValueError, TypeError):
        return None
