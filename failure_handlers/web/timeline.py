"""Failures over time, counted from the index scores (ZCOUNT per bucket), never by reading entries.

Every bucket is one ZCOUNT on a sorted set scored by failure time, all buckets in one pipelined
round trip: the cost depends on the number of buckets, not on the DLQ's size. The bars are laid
out here (numbers only) so that templates draw them as SVG without any script or inline style.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from failure_handlers.dlq.store import DeadLetterQueue

DAY = 86_400.0
SPANS = {"24h": (DAY, 24), "7d": (7 * DAY, 28)}  # name -> (seconds covered, buckets): 1 h and 6 h bars
TREND_SPAN, TREND_BUCKETS = DAY, 12  # a group's trend: 2 h bars over the last day


@dataclass(frozen=True)
class Bar:
    start: float  # epoch seconds, inclusive
    end: float  # exclusive
    count: int
    x: float  # layout in a `width` x `height` box, for SVG
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    name: str
    bars: list[Bar]
    total: int
    peak: int
    width: int
    height: int


def bucket_counts(dlq: DeadLetterQueue, keys: Sequence[str], now: float, span: float, buckets: int) -> list[list[int]]:
    """Per key, failures in each of `buckets` equal slices of the last `span` seconds (oldest first).

    Slices older than the DLQ's retention count nothing (their entries have expired, whatever
    index members linger until pruned).
    """
    step = span / buckets
    cutoff = now - dlq.ttl_seconds
    with dlq.connection.pipeline(transaction=False) as pipe:
        for key in keys:
            for n in range(buckets):
                start = now - span + n * step
                pipe.zcount(key, max(start, cutoff), f"({start + step}")
        counts = [int(count) for count in pipe.execute()]
    return [counts[n * buckets : (n + 1) * buckets] for n in range(len(keys))]


def failure_charts(dlq: DeadLetterQueue, now: float, width: int = 480, height: int = 80) -> list[Chart]:
    """The overview's charts: the last 24 hours in hourly bars and the last 7 days in 6-hour bars."""
    charts = []
    for name, (span, buckets) in SPANS.items():
        (counts,) = bucket_counts(dlq, [dlq.keys.index], now, span, buckets)
        charts.append(layout(name, counts, now - span, span / buckets, width, height))
    return charts


def group_trends(dlq: DeadLetterQueue, fingerprints: Sequence[str], now: float) -> dict[str, Chart]:
    """A small trend per failure group: its failures in 2-hour bars over the last day."""
    keys = [dlq.keys.by("group", fingerprint) for fingerprint in fingerprints]
    rows = bucket_counts(dlq, keys, now, TREND_SPAN, TREND_BUCKETS)
    step = TREND_SPAN / TREND_BUCKETS
    return {
        fingerprint: layout("trend", counts, now - TREND_SPAN, step, width=96, height=20)
        for fingerprint, counts in zip(fingerprints, rows, strict=True)
    }


def layout(name: str, counts: Sequence[int], start: float, step: float, width: int, height: int) -> Chart:
    """Bars scaled to the peak; a non-empty bucket is at least 1 unit tall so it stays visible."""
    peak = max(counts, default=0)
    slot = width / max(1, len(counts))
    bars = []
    for n, count in enumerate(counts):
        tall = 0.0 if not count else max(1.0, height * count / peak)
        bars.append(
            Bar(
                start=start + n * step,
                end=start + (n + 1) * step,
                count=count,
                x=round(n * slot + slot * 0.1, 2),
                y=round(height - tall, 2),
                width=round(slot * 0.8, 2),
                height=round(tall, 2),
            )
        )
    return Chart(name, bars, sum(counts), peak, width, height)


def chart_json(chart: Chart) -> dict[str, object]:
    return {
        "bucket_seconds": (chart.bars[0].end - chart.bars[0].start) if chart.bars else 0,
        "buckets": [{"start": bar.start, "end": bar.end, "count": bar.count} for bar in chart.bars],
        "total": chart.total,
    }
