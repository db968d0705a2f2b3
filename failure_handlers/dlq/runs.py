"""A job's failed runs numbered across its whole life, and the runs it made twice (pure code, no Redis).

Each failure record (`job.meta["failures"]`, a DLQ entry's `failures`) says:
- `attempt`: the run's number within its retry budget, from RQ's `retries_left` (`retry.policy.attempt_of`);
- `run`: its number across the job's life, given when it is recorded (`number_record`): one more than
  the run before it, whose records dropped past the newest 25 (`job.meta["failures_dropped"]`) still
  count. A synthetic record (`synthetic.py`: RQ's abandoned-job cleanup...) of the same attempt as the
  record just before it is about that run and shares its number: the cleanup re-records a run whose
  worker died after our handler recorded it;
- `requeues` (absent when 0): the retry budget it ran in, the `rq-dlq requeue`s before it
  (`job.meta["requeue_count"]`). A requeue gives a new budget: its attempt 1 is no repeat.

A run with the (`requeues`, `attempt`) of an earlier run is a duplicated run: the job ran that
attempt twice with the same `retries_left` (RQ's own bookkeeping lost in a failover, a second worker
after a split-brain, a job put back in its queue without its retry being counted). The DLQ entry marks
its records `duplicate` and counts such runs in `duplicated_runs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from failure_handlers.dlq.synthetic import is_synthetic

RUN = "run"
REQUEUES = "requeues"
DUPLICATE = "duplicate"


def number_record(record: dict[str, Any], history: Sequence[Mapping[str, Any]], dropped: int, requeues: int) -> None:
    """Give `record`, about to be appended to `history` (job.meta's records, `dropped` older ones gone),
    its budget (`requeues`, when > 0) and its `run`."""
    if requeues > 0:
        record[REQUEUES] = requeues
    earlier = numbered(history, dropped)
    if not earlier:
        record[RUN] = dropped + 1
    elif _same_run(earlier[-1], record):
        record[RUN] = earlier[-1][RUN]
    else:
        record[RUN] = earlier[-1][RUN] + 1


def numbered(history: Iterable[Mapping[str, Any]], dropped: int = 0) -> list[dict[str, Any]]:
    """Copies of the records in their order, each with its `run`: the one it was recorded with while
    the numbers go up, else the next number (a record written before runs were numbered, counted
    from `dropped`; or one numbered by a writer that did not see the records before it)."""
    runs: list[dict[str, Any]] = []
    for source in history:
        if not isinstance(source, Mapping):
            continue  # garbled job.meta: not a record
        item = dict(source)
        previous = runs[-1] if runs else None
        last = previous[RUN] if previous else dropped
        own = item.get(RUN)
        if previous is not None and _same_run(previous, item):
            item[RUN] = last
        elif not (isinstance(own, int) and not isinstance(own, bool) and own > last):
            item[RUN] = last + 1
        runs.append(item)
    return runs


def duplicated(history: Iterable[Mapping[str, Any]]) -> set[int]:
    """The run numbers (of `numbered` records) whose budget and attempt an earlier run already had."""
    seen_runs: set[Any] = set()
    seen_attempts: set[tuple[int, int]] = set()
    repeated: set[int] = set()
    for item in history:
        run, attempt = item.get(RUN), item.get("attempt")
        if run in seen_runs or not isinstance(run, int) or not isinstance(attempt, int):
            continue
        seen_runs.add(run)
        key = (budget_of(item), attempt)
        if key in seen_attempts:
            repeated.add(run)
        seen_attempts.add(key)
    return repeated


def marked(history: Iterable[Mapping[str, Any]], dropped: int = 0) -> list[dict[str, Any]]:
    """`numbered` records, those of a duplicated run with `duplicate: true` (the DLQ entry's history)."""
    runs = numbered(history, dropped)  # copies: marked here without changing `history`
    for item in runs:
        item.pop(DUPLICATE, None)
    repeated = duplicated(runs)
    for item in runs:
        if item[RUN] in repeated:
            item[DUPLICATE] = True
    return runs


def marked_runs(history: Iterable[Mapping[str, Any]]) -> int:
    """`duplicated_runs` of `marked` records, read from their marks."""
    return len({item[RUN] for item in history if item.get(DUPLICATE)})


def duplicated_runs(history: Iterable[Mapping[str, Any]]) -> int:
    """How many runs of `numbered` records were duplicated (the entry's `duplicated_runs`)."""
    return len(duplicated(history))


def budget_of(record: Mapping[str, Any]) -> int:
    """The retry budget a record ran in: 0 for the enqueue's, n after the n-th requeue."""
    value = record.get(REQUEUES)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _same_run(previous: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """A synthetic record of the attempt the record before it was about: the same run, recorded again."""
    return (
        is_synthetic(str(record.get("exc_type", "")))
        and record.get("attempt") == previous.get("attempt")
        and budget_of(record) == budget_of(previous)
    )
