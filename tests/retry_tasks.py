"""Tasks for the retry-policy integration tests (real workers import this module from the project root)."""

from __future__ import annotations


def always_fails(number: int = 0) -> None:
    raise ConnectionError(f"upstream unavailable ({number})")


def rejected_upstream(order: str) -> None:
    raise ConnectionError(f"upstream said: validation error in order {order}")
