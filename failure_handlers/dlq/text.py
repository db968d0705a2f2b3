"""Text in and out of Redis: the DLQ stores valid UTF-8 only, and reads replies back as text."""

from __future__ import annotations

from collections.abc import Iterable


def utf8_text(text: str) -> str:
    """`text` made valid UTF-8: lone surrogates (bytes that were not UTF-8) become `\\udcXX`."""
    if text.isascii():  # nearly every field: nothing to replace, no copy
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


def text_list(raw: Iterable[bytes | str]) -> list[str]:
    return [text(item) for item in raw]
