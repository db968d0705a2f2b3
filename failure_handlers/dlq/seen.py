"""The values seen per index kind (queue, func, exc, group), and the failure groups' samples.

`<prefix>values` holds every value, member `<kind>:<value>`, scored by the last failure with it (the
add script notes all four of an entry in one command). A DLQ written before 2026-11 kept them per
kind in `<prefix>names:<kind>` (bare values): the add script's sweep merges those into `values`, and
until it has, these readers read both. A group is described by its newest entry (what the add
script of before 2026-11 stored in `<prefix>groups` on every add); `<prefix>groups` keeps the sample
of when the group appeared, read when the newest entry cannot be.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from redis import Redis

from failure_handlers.dlq.text import text
from failure_handlers.storage.keys import INDEXED_FIELDS, DlqKeys

_SAMPLE_FIELDS = ("exc_type", "func_name", "origin", "exc_message")


def values_by_kind(
    connection: Redis, keys: DlqKeys, kinds: Sequence[str] = tuple(INDEXED_FIELDS)
) -> dict[str, list[str]]:
    """Per kind, the values seen, most recently seen first (one pipelined round trip)."""
    with connection.pipeline(transaction=False) as pipe:
        pipe.zrange(keys.values, 0, -1, withscores=True)
        for kind in kinds:
            pipe.zrange(keys.names(kind), 0, -1, withscores=True)
        current, *before = pipe.execute()
    scores: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
    rows = [(*text(member).partition(":")[::2], score) for member, score in current]
    for kind, old_rows in zip(kinds, before, strict=True):
        rows += [(kind, text(member), score) for member, score in old_rows]
    for kind, value, score in rows:
        if kind in scores:
            seen = scores[kind]
            seen[value] = max(float(score), seen.get(value, float("-inf")))
    return {
        kind: [value for value, _ in sorted(seen.items(), key=lambda pair: (pair[1], pair[0]), reverse=True)]
        for kind, seen in scores.items()
    }


def group_samples(connection: Redis, keys: DlqKeys, fingerprints: Sequence[str]) -> list[dict[str, str]]:
    """Each group's sample (exc_type, func_name, origin, message): its newest entry's, or, when that
    cannot be read, the one stored when the group appeared; {} for neither. Two round trips."""
    if not fingerprints:
        return []
    with connection.pipeline(transaction=False) as pipe:
        for fingerprint in fingerprints:
            pipe.zrevrange(keys.by("group", fingerprint), 0, 0)
        pipe.hmget(keys.groups, list(fingerprints))
        *newest, stored = pipe.execute()
    ids = [text(members[0]) if members else "" for members in newest]
    with connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hmget(keys.entry(job_id), list(_SAMPLE_FIELDS))  # a group without members: <prefix>entry:, none
        rows = pipe.execute()
    samples = []
    for row, raw in zip(rows, stored, strict=True):
        if any(row):
            exc_type, func_name, origin, message = (text(value) for value in row)
            samples.append({"exc_type": exc_type, "func_name": func_name, "origin": origin, "message": message[:300]})
        else:
            samples.append(_json_object(raw))
    return samples


def _json_object(raw: bytes | str | None) -> dict[str, str]:
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
