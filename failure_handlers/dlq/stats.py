"""DLQ statistics read from the indexes (never a scan of entries): totals, ages, counts per
queue / function / exception type / failure group, and the top groups with their samples."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from redis import Redis

from failure_handlers.dlq.seen import group_samples, values_by_kind
from failure_handlers.storage.keys import DlqKeys


@dataclass(frozen=True)
class GroupStats:
    fingerprint: str
    count: int
    first_seen: float
    last_seen: float
    exc_type: str
    func_name: str
    origin: str
    sample_message: str


@dataclass(frozen=True)
class DlqStats:
    total: int
    dropped: int
    oldest: float | None  # epoch seconds of the oldest failure
    newest: float | None
    by_kind: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # kind -> [(value, count)]
    groups: list[GroupStats] = field(default_factory=list)

    @property
    def by_function(self) -> list[tuple[str, int]]:
        return self.by_kind.get("func", [])

    @property
    def by_exception(self) -> list[tuple[str, int]]:
        return self.by_kind.get("exc", [])

    def as_json(self, now: float) -> dict[str, object]:
        """The stable JSON of `rq-dlq stats --json` and `GET /api/stats` (which adds its own fields)."""
        return {
            "total": self.total,
            "dropped": self.dropped,
            "oldest_failed_at": self.oldest,
            "newest_failed_at": self.newest,
            "oldest_age_seconds": round(now - self.oldest, 3) if self.oldest else None,
            "by_queue": dict(self.by_kind.get("queue", [])),
            "by_function": dict(self.by_function),
            "by_exception": dict(self.by_exception),
            "by_group": dict(self.by_kind.get("group", [])),
            "top_groups": [asdict(group) for group in self.groups],
        }


def dlq_stats(connection: Redis, keys: DlqKeys, ttl_seconds: int, top_groups: int = 10) -> DlqStats:
    """The figures of the DLQ under `keys`: five pipelined round trips, whatever its size."""
    cutoff = time.time() - ttl_seconds
    with connection.pipeline(transaction=False) as pipe:
        pipe.zcount(keys.index, cutoff, "+inf")
        pipe.zrangebyscore(keys.index, cutoff, "+inf", start=0, num=1, withscores=True)
        pipe.zrevrange(keys.index, 0, 0, withscores=True)
        pipe.get(keys.dropped)
        total, oldest, newest, dropped = pipe.execute()
    names_by_kind = values_by_kind(connection, keys)
    with connection.pipeline(transaction=False) as pipe:
        for kind, values in names_by_kind.items():
            for value in values:
                pipe.zcount(keys.by(kind, value), cutoff, "+inf")
        counts = iter(pipe.execute())
    by_kind: dict[str, list[tuple[str, int]]] = {}
    for kind, values in names_by_kind.items():
        pairs = [(value, int(next(counts))) for value in values]
        by_kind[kind] = sorted((pair for pair in pairs if pair[1]), key=lambda pair: (-pair[1], pair[0]))
    return DlqStats(
        total=int(total),
        dropped=int(dropped or 0),
        oldest=oldest[0][1] if oldest else None,
        newest=newest[0][1] if newest else None,
        by_kind=by_kind,
        groups=_group_stats(connection, keys, by_kind["group"][:top_groups], cutoff),
    )


def _group_stats(connection: Redis, keys: DlqKeys, top: list[tuple[str, int]], cutoff: float) -> list[GroupStats]:
    if not top:
        return []
    with connection.pipeline(transaction=False) as pipe:
        for fingerprint, _ in top:
            key = keys.by("group", fingerprint)
            pipe.zrangebyscore(key, cutoff, "+inf", start=0, num=1, withscores=True)
            pipe.zrevrange(key, 0, 0, withscores=True)
        rows = pipe.execute()
    samples = group_samples(connection, keys, [fingerprint for fingerprint, _ in top])
    groups = []
    for n, ((fingerprint, count), details) in enumerate(zip(top, samples, strict=True)):
        first, last = rows[2 * n : 2 * n + 2]
        groups.append(
            GroupStats(
                fingerprint=fingerprint,
                count=count,
                first_seen=first[0][1] if first else 0.0,
                last_seen=last[0][1] if last else 0.0,
                exc_type=details.get("exc_type", ""),
                func_name=details.get("func_name", ""),
                origin=details.get("origin", ""),
                sample_message=details.get("message", ""),
            )
        )
    return groups
