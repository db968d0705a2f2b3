"""Text in and out of Redis: the DLQ stores valid UTF-8 only, and reads replies back as text."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis.typing import ZSetRangeResponse


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


def member_list(reply: ZSetRangeResponse) -> list[str]:
    """The members of a sorted-set range read without scores (ZRANGE, ZRANGEBYSCORE...), as text.

    redis-py 8 types every range reply as the union of its shapes, with WITHSCORES ones included
    (`(member, score)` pairs, RESP3 `[member, score]` lists); without WITHSCORES it is members only.
    """
    members: list[str] = []
    for item in reply:
        if isinstance(item, tuple | list):
            raise TypeError(f"expected a sorted-set member, got a scored pair {item!r} (a WITHSCORES reply)")
        members.append(text(item))
    return members
