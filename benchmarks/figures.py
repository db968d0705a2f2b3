"""One row of BENCHMARKS.md, and the statistics every benchmark uses (medians, p99, timing)."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """A measured figure: ours, plain RQ's (or the server's) in the same run, and the target.

    `ratio` is always "how we compare, higher is better": ours/baseline for rates,
    baseline/ours for durations. `met` is None where there is no target.
    """

    section: str
    metric: str
    ours: str
    baseline: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None  # None: no target, or the spread straddles it ("inconclusive")
    spread: str = ""  # min–max of the pair ratios (or of the per-run values) behind `ratio`
    judged: bool = False  # a target was checked: `met` None then means inconclusive

    @property
    def verdict(self) -> str:
        if not self.target:
            return ""
        if self.met is None:
            return "inconclusive" if self.judged else ""
        return "met" if self.met else "missed"


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (`fraction` 0.99 for p99): a value that was actually measured."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def timed(action: Callable[[], object]) -> float:
    """Seconds `action` takes."""
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    """Median wall time of `repeat` calls of `action`."""
    return median([timed(action) for _ in range(repeat)])


def runs(values: Sequence[float], unit: Callable[[float], str]) -> str:
    """`median (run1, run2, ...)` so a reader sees the spread behind every median."""
    if len(values) == 1:
        return unit(values[0])
    return f"{unit(median(values))} ({', '.join(unit(value) for value in values)})"


def per_second(value: float) -> str:
    return f"{value:,.0f}/s"


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 0.01 else f"{seconds * 1000:,.0f} ms"


def microseconds(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def seconds_text(seconds: float) -> str:
    return f"{seconds:.2f} s"


def kilobytes(size: float) -> str:
    return f"{size / 1024:,.2f} KB"


@dataclass(frozen=True)
class Paired:
    """Interleaved runs of ours and of the baseline (A B A B …), one ratio per adjacent pair.

    `higher_is_better`: rates (ratio ours/baseline); otherwise durations (baseline/ours).
    """

    ours: Sequence[float]
    baseline: Sequence[float]
    higher_is_better: bool = True

    def ratios(self) -> list[float]:
        pairs = zip(self.ours, self.baseline, strict=True)
        return [o / b if self.higher_is_better else b / o for o, b in pairs]

    @property
    def ratio(self) -> float:
        """The median of the pair ratios."""
        return median(self.ratios())

    @property
    def low(self) -> float:
        return min(self.ratios())

    @property
    def high(self) -> float:
        return max(self.ratios())

    def spread(self) -> str:
        return f"{self.low:.3f}–{self.high:.3f}" if len(self.ours) > 1 else "one pair"

    def judge(self, target: float) -> bool | None:
        """Met when every pair meets `target`, missed when none does, else None (inconclusive)."""
        return judge_range(self.low, self.high, target, at_least=True)


def judge_range(low: float, high: float, target: float, at_least: bool) -> bool | None:
    """A target is met or missed only when the whole measured range agrees; None: inconclusive."""
    if at_least:
        return True if low >= target else False if high < target else None
    return True if high <= target else False if low > target else None
