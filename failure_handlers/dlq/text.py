"""Redis replies as text (the DLQ stores UTF-8 text only)."""

from __future__ import annotations

from collections.abc import Iterable


def text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def text_list(raw: Iterable[bytes | str]) -> list[str]:
    return [text(item) for item in raw]
