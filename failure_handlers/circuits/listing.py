"""The states of every circuit (`rq-dlq circuits`): read from the circuit index, never with SCAN.

A circuit is listed once it has recorded a failure or changed state (a circuit that only ever
succeeded has nothing stored: it is closed). Read-only: two pipelined round trips in all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis

from failure_handlers.dlq.text import member_list
from failure_handlers.storage.keys import DlqKeys


@dataclass(frozen=True)
class CircuitState:
    name: str
    state: str  # closed | open | half_open (open past its time: half_open, the next call probes)
    failures: int  # failures in the window now
    threshold: int
    window: int  # seconds
    reset: int  # seconds
    open_until: float | None  # epoch seconds until which calls fail fast (open, or a probe in flight)
    changed_at: float | None  # epoch seconds of the last state change

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["open_until"] = _iso(self.open_until)
        data["changed_at"] = _iso(self.changed_at)
        return data


def list_circuits(connection: Redis, keys: DlqKeys, now: float) -> list[CircuitState]:
    """Every known circuit, most recently changed first."""
    names = member_list(connection.zrevrange(keys.circuits, 0, -1))
    if not names:
        return []
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.circuit(name))
        hashes = pipe.execute()
    with connection.pipeline(transaction=False) as pipe:
        for name, raw in zip(names, hashes, strict=True):
            window = _number(raw.get(b"window")) or 0
            pipe.zcount(keys.circuit_failures(name), now - window, "+inf")
        counts = pipe.execute()
    return [_state(name, raw, count, now) for name, raw, count in zip(names, hashes, counts, strict=True) if raw]


def _state(name: str, raw: dict[bytes, bytes], failures: int, now: float) -> CircuitState:
    state = _text(raw.get(b"state", b"closed"))
    open_until = _number(raw.get(b"open_until"))
    probe_until = _number(raw.get(b"probe_until"))
    until: float | None = None
    if state == "open":
        until = open_until
        if open_until is not None and open_until <= now:
            state = "half_open"  # due: the next guarded call is the probe
            until = None
    elif state == "half_open" and probe_until and probe_until > now:
        until = probe_until  # a probe is in flight
    return CircuitState(
        name=name,
        state=state,
        failures=int(failures),
        threshold=int(_number(raw.get(b"threshold")) or 0),
        window=int(_number(raw.get(b"window")) or 0),
        reset=int(_number(raw.get(b"reset")) or 0),
        open_until=until,
        changed_at=_number(raw.get(b"changed_at")),
    )


def _number(value: bytes | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _iso(epoch: float | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds") if epoch else None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
