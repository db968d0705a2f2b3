"""CPU time and commands per job, ours next to plain RQ, and the verdicts on them. Pure code.

A run's cost is divided by its jobs (or by its attempts). Ours and plain RQ run in interleaved pairs;
for each pair the *extra* is what ours costs above plain RQ, relative to plain RQ for CPU time
((ours - plain) / plain) and in commands for server commands (ours - plain). The row shows the median
of the pair extras with their lowest and highest. CPU time is the instrument here, not wall time: it
does not count the time a process waits for the CPU on a shared machine.

Verdict: with 5 or more pairs the lowest and the highest pair are set aside (one load spike either
way does not decide), and the target is **met** when every remaining pair meets it, **missed** when
none does, otherwise *inconclusive*, as for the other rows of BENCHMARKS.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchmarks.figures import Figure, judge_range, median, microseconds, runs

TRIM_FROM = 5  # pairs from which the lowest and highest are set aside for the verdict


@dataclass(frozen=True)
class RunCost:
    """What one run of `units` jobs (or attempts) cost."""

    units: int
    worker_cpu: float  # seconds: the worker process(es) and their work-horses
    server_cpu: float  # seconds: INFO cpu delta
    commands: int  # INFO commandstats delta

    def less(self, overhead: RunCost) -> RunCost:
        """This run without `overhead` (what the same worker costs on an empty queue); same units."""
        return RunCost(
            self.units,
            self.worker_cpu - overhead.worker_cpu,
            self.server_cpu - overhead.server_cpu,
            self.commands - overhead.commands,
        )

    @property
    def worker_per_unit(self) -> float:
        return self.worker_cpu / self.units

    @property
    def server_per_unit(self) -> float:
        return self.server_cpu / self.units

    @property
    def commands_per_unit(self) -> float:
        return self.commands / self.units


def relative_extras(ours: Sequence[float], plain: Sequence[float]) -> list[float]:
    """(ours - plain) / plain for each pair (a plain value of 0: 0 if ours is 0 too, else infinite)."""
    return [(o - p) / p if p else (0.0 if o == p else math.inf) for o, p in zip(ours, plain, strict=True)]


def absolute_extras(ours: Sequence[float], plain: Sequence[float]) -> list[float]:
    """ours - plain for each pair."""
    return [o - p for o, p in zip(ours, plain, strict=True)]


def trimmed(values: Sequence[float]) -> list[float]:
    """The values without their lowest and highest, from `TRIM_FROM` values on; else all of them."""
    ordered = sorted(values)
    return ordered[1:-1] if len(ordered) >= TRIM_FROM else ordered


def judge_at_most(extras: Sequence[float], limit: float) -> bool | None:
    """Met (True) when every pair (trimmed) is at most `limit`, missed (False) when none is, else None."""
    kept = trimmed(extras)
    return judge_range(min(kept), max(kept), limit, at_least=False)


def percent(value: float) -> str:
    return f"{value * 100:+.1f} %"


def count_text(value: float) -> str:
    return f"{value:+.1f}"


@dataclass(frozen=True)
class Measure:
    """One row's kind: how a run's cost per unit is read, shown and compared."""

    name: str  # e.g. "worker CPU per job (process + work-horses)"
    per_unit: Callable[[RunCost], float]
    show: Callable[[float], str]
    relative: bool  # extra as a fraction of plain's (CPU) or as a difference (commands)


WORKER_CPU = Measure("worker CPU", lambda run: run.worker_per_unit, microseconds, relative=True)
SERVER_CPU = Measure("server CPU", lambda run: run.server_per_unit, microseconds, relative=True)
COMMANDS = Measure("server commands", lambda run: run.commands_per_unit, lambda value: f"{value:.1f}", relative=False)


def cost_figure(
    section: str,
    metric: str,
    measure: Measure,
    ours: Sequence[RunCost],
    plain: Sequence[RunCost],
    limit: float | None = None,
    unit: str = "job",
) -> Figure:
    """One row: ours and plain per unit (median and every run), the median extra, its spread, the verdict.

    `limit`: the most extra allowed (a fraction for CPU, commands for commands); None: no target.
    """
    ours_values = [measure.per_unit(run) for run in ours]
    plain_values = [measure.per_unit(run) for run in plain]
    if measure.relative:
        extras = relative_extras(ours_values, plain_values)
    else:
        extras = absolute_extras(ours_values, plain_values)
    return extra_figure(section, metric, ours_values, plain_values, extras, measure, limit, unit)


def retried_attempt_extras(ours: Sequence[float], plain: Sequence[float], retries: int) -> list[float]:
    """Jobs that fail `retries` times then succeed, the same number in each run; `ours` and `plain`
    are each run's total CPU. Per pair: ours' extra per retried attempt ((ours - plain) / retries, per
    job) relative to plain RQ's CPU per run (plain / (retries + 1), per job)."""
    return [(o - p) / retries / (p / (retries + 1)) for o, p in zip(ours, plain, strict=True)]


def extra_figure(
    section: str,
    metric: str,
    ours_values: Sequence[float],
    plain_values: Sequence[float],
    extras: Sequence[float],
    measure: Measure,
    limit: float | None = None,
    unit: str = "job",
) -> Figure:
    """The row for per-unit values and the pair extras behind them (`measure` says how they read).

    The ratio column is plain / ours of the medians ("higher is better", as for every duration).
    """
    show_extra = percent if measure.relative else count_text
    spread = f"extra {show_extra(min(extras))} … {show_extra(max(extras))}" if len(extras) > 1 else "one pair"
    ours_median = median(ours_values)
    target = ""
    met = None
    if limit is not None:
        target = f"extra <= {percent(limit)}" if measure.relative else f"extra <= {limit:g} per {unit}"
        met = judge_at_most(extras, limit)
    return Figure(
        section,
        metric,
        f"{runs(ours_values, measure.show)}; extra {show_extra(median(extras))}",
        runs(plain_values, measure.show),
        median(plain_values) / ours_median if ours_median else None,
        target=target,
        met=met,
        spread=spread,
        judged=limit is not None,
    )
