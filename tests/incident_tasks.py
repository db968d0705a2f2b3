"""Jobs of the incident-control tests (`tests/integration/test_incident_controls.py`, the browser test)."""

from __future__ import annotations

from rq import get_current_job

STARTED = "test:incident:started:"  # set per queue: the jobs that started (our marker, beside RQ's registries)


def mark(queue: str, number: int) -> int:
    """Record that this job started, in `STARTED<queue>`."""
    job = get_current_job()
    assert job is not None
    job.connection.sadd(STARTED + queue, number)
    return number


def charge(amount: int, currency: str = "EUR", token: str = "") -> str:
    """Fails on bad input (a negative amount, a missing token): the job a fix-and-replay repairs."""
    if amount <= 0:
        raise ValueError(f"amount must be positive, got {amount}")
    if not token or token == "***":
        raise ValueError("no payment token")
    return f"charged {amount} {currency}"
