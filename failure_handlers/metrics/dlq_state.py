"""The DLQ's figures for `/metrics`, from its indexes only (never a scan of entries).

Pipelined round trips: sizes, oldest entry, dropped and counters; the values seen
(`dlq/seen.py`); then one ZCOUNT per queue and per failure group, and the samples of the largest groups.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from redis import Redis

from failure_handlers.dlq.seen import group_samples, values_by_kind
from failure_handlers.dlq.text import text
from failure_handlers.storage.keys import METRIC_LABEL_SEPARATOR, METRIC_LABELS, DlqKeys


@dataclass(frozen=True)
class Group:
    fingerprint: str
    count: int
    exc_type: str
    func_name: str


@dataclass(frozen=True)
class DlqState:
    total: int
    oldest: float | None  # epoch seconds of the oldest entry
    dropped: int
    by_queue: dict[str, int]
    groups: list[Group]  # the largest first, at most `top_groups`
    group_count: int  # every group with entries
    counters: dict[str, list[tuple[tuple[str, ...], int]]]
    pending_deliveries: int


def read_dlq_state(connection: Redis, keys: DlqKeys, ttl_seconds: int, top_groups: int) -> DlqState:
    """The DLQ under `keys`, whatever its size, in four or five pipelined round trips."""
    cutoff = time.time() - ttl_seconds
    with connection.pipeline(transaction=False) as pipe:
        pipe.zcount(keys.index, cutoff, "+inf")
        pipe.zrangebyscore(keys.index, cutoff, "+inf", start=0, num=1, withscores=True)
        pipe.get(keys.dropped)
        pipe.zcard(keys.alert_outbox)
        for metric in METRIC_LABELS:
            pipe.hgetall(keys.metric(metric))
        total, oldest, dropped, pending, *raw_counters = pipe.execute()
    seen = values_by_kind(connection, keys, ("queue", "group"))
    queues, fingerprints = seen["queue"], seen["group"]
    with connection.pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.zcount(keys.by("queue", queue), cutoff, "+inf")
        for fingerprint in fingerprints:
            pipe.zcount(keys.by("group", fingerprint), cutoff, "+inf")
        counts = [int(count) for count in pipe.execute()]
    by_queue = {queue: count for queue, count in zip(queues, counts, strict=False) if count}
    sizes = sorted(
        ((count, fingerprint) for fingerprint, count in zip(fingerprints, counts[len(queues) :], strict=True) if count),
        key=lambda pair: (-pair[0], pair[1]),
    )
    top = sizes[:top_groups]
    samples = group_samples(connection, keys, [fingerprint for _, fingerprint in top])
    groups = []
    for (count, fingerprint), details in zip(top, samples, strict=True):
        groups.append(Group(fingerprint, count, str(details.get("exc_type", "")), str(details.get("func_name", ""))))
    return DlqState(
        total=int(total),
        oldest=oldest[0][1] if oldest else None,
        dropped=int(dropped or 0),
        by_queue=by_queue,
        groups=groups,
        group_count=len(sizes),
        counters={
            metric: counter_rows(raw, len(labels))
            for (metric, labels), raw in zip(METRIC_LABELS.items(), raw_counters, strict=True)
        },
        pending_deliveries=int(pending),
    )


def counter_rows(raw: dict[bytes, bytes], width: int) -> list[tuple[tuple[str, ...], int]]:
    """A counter hash as sorted (label values, count) rows; malformed fields are skipped."""
    rows = []
    for field, value in raw.items():
        parts = tuple(text(field).split(METRIC_LABEL_SEPARATOR))
        if len(parts) == width:
            rows.append((parts, int(value)))
    return sorted(rows)
