"""Tasks for the idempotency, dedup and circuit tests; their side effects are counted in Redis, so a
test can see them from another process (a real `rq worker`)."""

from __future__ import annotations

import time

from rq import get_current_job

from worker_tasks import circuit, idempotent

EFFECTS = "test:effects:"  # a counter per business key: how many times the body really ran
GATEWAY_DOWN = "test:gateway-down"  # while this key exists, charge_invoice fails (after counting)
HOLD = "test:hold"  # while this key exists, charge_invoice(hold=True) waits before its work (at most 60 s)


def _count(name: str) -> int:
    return get_current_job().connection.incr(EFFECTS + name)


@idempotent(key="invoice:{invoice_id}", ttl=600)
def charge_invoice(invoice_id: str, amount: int, fail: bool = False, seconds: float = 0.0, hold: bool = False) -> dict:
    """Counts a charge, then fails if asked or the gateway is down (after the side effect: as a real task can).
    `hold`: first waits while the HOLD key exists (a test releases it once another run has been seen)."""
    time.sleep(seconds)
    deadline = time.monotonic() + 60
    while hold and get_current_job().connection.exists(HOLD) and time.monotonic() < deadline:
        time.sleep(0.02)
    run = _count(f"invoice:{invoice_id}")
    if fail or get_current_job().connection.exists(GATEWAY_DOWN):
        raise ConnectionError(f"payment gateway unavailable for invoice {invoice_id}")
    return {"invoice": invoice_id, "charged": amount, "run": run}


@idempotent(key="report:{name}")
def build_report(name: str) -> object:
    _count(f"report:{name}")
    return {1, 2, 3}  # a set: not JSON-serialisable


def slow_add(left: int, right: int) -> int:
    """A job that stays started for a moment (dedup tests)."""
    time.sleep(0.5)
    return left + right


def call_guarded(url: str, circuit_name: str) -> int:
    """GET `url` through the circuit `circuit_name` (failures=3, window=60, reset=2)."""
    import requests

    with circuit(circuit_name, failures=3, window=60, reset=2):
        return requests.get(url, timeout=(1, 2)).status_code
