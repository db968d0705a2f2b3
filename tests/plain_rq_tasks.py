"""Tasks of an "existing RQ app": enqueued with plain RQ, no callback of ours (real workers import
this module: the project root is on their path)."""

from __future__ import annotations

from failure_handlers import PermanentError


def charge(customer: int) -> None:
    raise ConnectionError(f"payment gateway unreachable for customer {customer}")


def reject(invoice: str) -> None:
    raise PermanentError(f"invoice {invoice} has no customer number")


def succeed(value: int) -> int:
    return value


def sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)
