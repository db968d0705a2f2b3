"""Hostile jobs for the hostile-input table (imported by real workers: the project root is on their path)."""

from __future__ import annotations

import time
from typing import Any

from failure_handlers.handler import on_failure

TEN_MB = 10 * 1024 * 1024


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ exploded")


class BadRepr:
    """Picklable, but neither JSON-encodable nor repr-able."""

    def __repr__(self) -> str:
        raise RuntimeError("__repr__ exploded")


def raise_undecodable() -> None:
    raise ValueError("caf\udce9 " + bytes(range(0x80, 0x100)).decode("utf-8", "surrogateescape"))


def raise_bytes_message() -> None:
    raise ValueError(b"\xff\xfe\xfa not utf-8")


def raise_huge_message() -> None:
    raise ValueError("x" * TEN_MB)


def raise_huge_traceback() -> None:
    raise RuntimeError("a line of the traceback\n" * (TEN_MB // 24))


def recurse(depth: int = 0) -> None:
    recurse(depth + 1)


def raise_unprintable() -> None:
    raise Unprintable()


def fail_with(*args: Any, **kwargs: Any) -> None:
    raise ValueError("rejected")


def slow_on_failure(job, connection, exc_type, exc_value, traceback) -> None:  # noqa: ANN001
    """A failure callback slower than its RQ timeout: RQ kills it before it calls ours."""
    time.sleep(30)
    on_failure(job, connection, exc_type, exc_value, traceback)
