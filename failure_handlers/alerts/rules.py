"""Alert rules as a pure function of the DLQ's figures: no Redis, no clock, no I/O.

Rules (README "Alerts"):
- `new_group`: a failure group not seen before appears (subject: its fingerprint);
- `group_burst`: a group gets more than N entries in the last M minutes (subject: fingerprint); not
  while the group itself is younger than M minutes (with `new_group` on): a storm of a new failure
  is ONE alert, its new-group message; a storm still going after M minutes is a burst message;
- `dlq_size_warning` / `dlq_size_critical`: the DLQ holds at least DLQ_WARN_SIZE / DLQ_CRIT_SIZE
  entries (the thresholds of `rq-dlq check`; subject `dlq`);
- `dlq_oldest_age`: the oldest entry is older than the maximum age (subject `dlq`).
The size and age rules are `resolvable`: when they stop firing, a resolved message is sent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

NEW_GROUP = "new_group"
GROUP_BURST = "group_burst"
SIZE_WARNING = "dlq_size_warning"
SIZE_CRITICAL = "dlq_size_critical"
OLDEST_AGE = "dlq_oldest_age"
RESOLVABLE = frozenset({SIZE_WARNING, SIZE_CRITICAL, OLDEST_AGE})
DLQ_SUBJECT = "dlq"


@dataclass(frozen=True)
class GroupFigures:
    fingerprint: str
    exc_type: str
    func_name: str
    sample_message: str
    count: int  # entries in the DLQ
    recent: int  # entries in the last `window_minutes`
    first_seen: float  # epoch seconds
    last_seen: float


@dataclass(frozen=True)
class Figures:
    """What the rules look at, read at `now` (epoch seconds)."""

    now: float
    size: int
    oldest: float | None  # epoch seconds of the oldest entry
    groups: list[GroupFigures] = field(default_factory=list)

    @property
    def oldest_age(self) -> float | None:
        return None if self.oldest is None else max(0.0, self.now - self.oldest)


@dataclass(frozen=True)
class Thresholds:
    warn_size: int
    crit_size: int
    max_age_seconds: float
    burst_count: int  # more than this many ...
    burst_minutes: int  # ... in this many minutes
    new_groups: bool = True


@dataclass(frozen=True)
class Condition:
    """One rule's verdict on one subject. `firing` False for a resolvable rule means "clear"."""

    rule: str
    subject: str
    firing: bool
    severity: str  # critical, warning, info
    what: str  # one line: what happened
    count: int  # how many (entries, or entries in the window)
    since: float | None  # epoch seconds: since when
    sample: str = ""  # a sample message
    command: str = "rq-dlq stats"  # the CLI command that shows it

    @property
    def resolvable(self) -> bool:
        return self.rule in RESOLVABLE


def evaluate(figures: Figures, limits: Thresholds, seen_groups: Collection[str]) -> list[Condition]:
    """Every rule's conditions: firing ones, and the clear state of each resolvable rule.

    `seen_groups`: the fingerprints already announced (a group not in it is new).
    """
    conditions = [*_size(figures, limits), _age(figures, limits)]
    for group in figures.groups:
        command = f"rq-dlq list --group {group.fingerprint}"
        if limits.new_groups and group.fingerprint not in seen_groups:
            conditions.append(
                Condition(
                    NEW_GROUP, group.fingerprint, True, "warning",
                    f"New failure group: {group.exc_type} in {group.func_name}",
                    group.count, group.first_seen, group.sample_message, command,
                )
            )  # fmt: skip
        if group.recent > limits.burst_count and not _announced_as_new(group, figures.now, limits):
            conditions.append(
                Condition(
                    GROUP_BURST, group.fingerprint, True, "warning",
                    f"{group.exc_type} in {group.func_name}: {group.recent} dead jobs in "
                    f"{limits.burst_minutes} min (more than {limits.burst_count})",
                    group.recent, group.first_seen, group.sample_message, command,
                )
            )  # fmt: skip
    return conditions


def _announced_as_new(group: GroupFigures, now: float, limits: Thresholds) -> bool:
    """The group appeared within the burst window: its new-group message is the storm's alert."""
    return limits.new_groups and now - group.first_seen < limits.burst_minutes * 60


def _size(figures: Figures, limits: Thresholds) -> list[Condition]:
    sample = _largest_sample(figures)
    return [
        Condition(
            rule, DLQ_SUBJECT, figures.size >= threshold, severity,
            f"DLQ holds {figures.size} dead jobs ({severity} at {threshold})",
            figures.size, figures.oldest, sample, "rq-dlq stats",
        )
        for rule, severity, threshold in (
            (SIZE_WARNING, "warning", limits.warn_size),
            (SIZE_CRITICAL, "critical", limits.crit_size),
        )
    ]  # fmt: skip


def _age(figures: Figures, limits: Thresholds) -> Condition:
    age = figures.oldest_age
    firing = age is not None and age > limits.max_age_seconds
    hours = (age or 0) / 3600
    return Condition(
        OLDEST_AGE, DLQ_SUBJECT, firing, "warning",
        f"The oldest dead job has waited {hours:.1f} h (max {limits.max_age_seconds / 3600:.1f} h)",
        figures.size, figures.oldest, "", f"rq-dlq list --until {int(limits.max_age_seconds)}s",
    )  # fmt: skip


def _largest_sample(figures: Figures) -> str:
    if not figures.groups:
        return ""
    largest = max(figures.groups, key=lambda group: group.count)
    return f"{largest.exc_type}: {largest.sample_message}"
