"""The doctor's decisions: from what the server reported to OK / WARN / FAIL and what to do. Pure code.

Each function takes plain values (read by `checks.py`) and returns one `Finding`; the thresholds are
module constants, explained where they are declared. docs/production-redis.md ("Before going live")
says why each check matters.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class Status(enum.IntEnum):
    """Ordered by severity; the exit status of `rq-dlq doctor` is the worst one's value."""

    OK = 0
    WARN = 1
    FAIL = 2


@dataclass(frozen=True)
class Finding:
    """One line of the doctor: the check's name, its status, what was found, and what to do (if anything)."""

    check: str
    status: Status
    found: str
    fix: str = ""

    def line(self, width: int = 17) -> str:
        advice = f" -> {self.fix}" if self.fix else ""
        return f"{self.status.name:<4} {self.check:<{width}} {self.found}{advice}"

    def as_dict(self) -> dict[str, str]:
        return {"check": self.check, "status": self.status.name, "found": self.found, "fix": self.fix}


def exit_status(findings: Iterable[Finding]) -> int:
    """0 when every check is OK, 1 with a warning, 2 with a failure."""
    return int(max((finding.status for finding in findings), default=Status.OK))


# --- version -------------------------------------------------------------------------------------------
RQ_MINIMUM_REDIS = (5, 0)  # RQ 3.0 (pyproject's redis requirement and rq's docs)
TESTED_REDIS = (7, 0)  # the suite's Debian redis-server 7.0; ACL read-only key patterns (%R~) need 7
VALKEY_MINIMUM = (7, 2)  # Valkey's first release (a fork of Redis 7.2)


def parse_version(text: str) -> tuple[int, ...]:
    """`7.0.15` -> (7, 0, 15); the leading digits of each part only (`7.2.4-rc1` -> (7, 2, 4))."""
    parts: list[int] = []
    for part in text.split("."):
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def judge_version(redis_version: str, valkey_version: str | None = None) -> Finding:
    """RQ needs Redis >= 5 (Valkey >= 7.2); the project is tested on 7: older than 7 is a warning."""
    if valkey_version:
        shown = f"Valkey {valkey_version}"
        if parse_version(valkey_version) >= VALKEY_MINIMUM:
            return Finding("version", Status.OK, shown)
        return Finding("version", Status.FAIL, f"{shown} is older than 7.2", "upgrade Valkey to 7.2 or later")
    shown = f"Redis {redis_version}"
    version = parse_version(redis_version)
    if not version:
        return Finding("version", Status.WARN, f"unknown server version {redis_version!r}", "use Redis 7 or Valkey")
    if version < RQ_MINIMUM_REDIS:
        return Finding("version", Status.FAIL, f"{shown}: RQ needs Redis 5 or later", "upgrade to Redis 7")
    if version < TESTED_REDIS:
        return Finding(
            "version",
            Status.WARN,
            f"{shown}: RQ runs on it, this project is tested on Redis 7 (its ACL lines need 7)",
            "upgrade to Redis 7",
        )
    return Finding("version", Status.OK, shown)


# --- memory --------------------------------------------------------------------------------------------
NOEVICTION = "noeviction"


def judge_eviction(policy: str, maxmemory: int) -> Finding:
    """Only `noeviction` is safe: any other policy lets the server delete keys to free memory — queued
    jobs, DLQ entries (which have a TTL, so even the volatile-* policies pick them) — without a word.

    With `maxmemory 0` (no limit) nothing is evicted today, but the policy bites the day a limit is set
    (a managed service sets one for you, or someone runs CONFIG SET): a warning, not a failure.
    """
    fix = "CONFIG SET maxmemory-policy noeviction (and in redis.conf / your service's parameter group)"
    if policy == NOEVICTION:
        limit = f"maxmemory {maxmemory} bytes" if maxmemory else "no maxmemory limit"
        return Finding("maxmemory-policy", Status.OK, f"noeviction ({limit}): a full server refuses writes")
    if maxmemory == 0:
        return Finding(
            "maxmemory-policy",
            Status.WARN,
            f"{policy} with no maxmemory limit: nothing is evicted yet, but keys would be dropped silently "
            "once a limit is set",
            fix,
        )
    return Finding(
        "maxmemory-policy",
        Status.FAIL,
        f"{policy} with maxmemory {maxmemory} bytes: the server silently drops jobs and DLQ entries when full",
        fix,
    )


# --- persistence ---------------------------------------------------------------------------------------


def judge_persistence(
    aof_enabled: bool, rdb_schedule: str | None, rdb_saves: int | None, last_write_ok: bool
) -> Finding:
    """AOF or RDB snapshots must be on, or a restart loses every job and DLQ entry.

    `rdb_schedule`: CONFIG GET save (`""`: off), None when this user may not read it; `rdb_saves`: INFO's
    snapshot count since start (Redis 7), the hint left when the schedule cannot be read.
    """
    fix_off = "CONFIG SET appendonly yes (and in redis.conf): a restart would lose every job and DLQ entry"
    if not last_write_ok:
        return Finding(
            "persistence",
            Status.FAIL,
            "the last AOF write or RDB snapshot failed",
            "read the server's log (disk full?)",
        )
    if aof_enabled:
        return Finding("persistence", Status.OK, "AOF on")
    if rdb_schedule:
        return Finding("persistence", Status.OK, f"RDB snapshots (save {rdb_schedule}), AOF off")
    if rdb_schedule is None:
        if rdb_saves:
            return Finding("persistence", Status.OK, f"RDB snapshots ({rdb_saves} since start), AOF off")
        return Finding(
            "persistence",
            Status.WARN,
            "AOF off; whether RDB snapshots are scheduled cannot be read by this user (CONFIG GET save)",
            "check `save` in the server's configuration, or turn AOF on",
        )
    return Finding("persistence", Status.WARN, "off (no AOF, no RDB snapshots)", fix_off)


# --- replication ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Replication:
    """INFO replication, as far as the doctor uses it."""

    role: str  # master / slave
    connected_replicas: int
    min_replicas_to_write: int | None = None  # min-replicas-to-write when set (INFO: min_slaves_good_slaves)
    good_replicas: int | None = None


def judge_replicas(replication: Replication, wait_replicas: int | None) -> Finding:
    """A replica keeps the DLQ through the loss of the primary; `DLQ_WAIT_REPLICAS` and
    `min-replicas-to-write` need that many replicas connected, or writes wait or are refused."""
    if replication.role != "master":
        return Finding(
            "replicas",
            Status.FAIL,
            f"connected to a {replication.role} (read-only): every write fails",
            "point REDIS_URL at the primary, or use redis+sentinel://",
        )
    count = replication.connected_replicas
    found = f"{count} replica{'s' if count != 1 else ''} connected"
    if replication.min_replicas_to_write:
        good = replication.good_replicas if replication.good_replicas is not None else count
        found += f", min-replicas-to-write {replication.min_replicas_to_write}"
        if good < replication.min_replicas_to_write:
            return Finding(
                "replicas",
                Status.FAIL,
                f"{found} but only {good} in time: the primary refuses every write",
                "bring the replicas back, or lower min-replicas-to-write",
            )
    if wait_replicas:
        found += f", DLQ_WAIT_REPLICAS={wait_replicas}"
        if count < wait_replicas:
            return Finding(
                "replicas",
                Status.FAIL,
                f"{found}: every DLQ write waits for replicas that are not there",
                f"connect {wait_replicas} replicas, or lower DLQ_WAIT_REPLICAS",
            )
    if count == 0:
        return Finding(
            "replicas", Status.WARN, f"{found}: losing this server loses the queues and the DLQ", "add a replica"
        )
    return Finding("replicas", Status.OK, found)


# --- processes -----------------------------------------------------------------------------------------


def judge_scheduler(queues: Sequence[str], scheduled: Sequence[str]) -> Finding:
    """RQ 3.0 runs scheduled jobs (retries with intervals, enqueue_in/at) only for queues whose scheduler
    lock (`rq:scheduler-lock:<queue>`) a worker started with `--with-scheduler` holds."""
    fix = "run the workers with --with-scheduler (the Procfile's worker line does)"
    if not queues:
        return Finding("scheduler", Status.WARN, "no RQ queue and no worker in this database yet", fix)
    missing = [queue for queue in queues if queue not in scheduled]
    if not missing:
        return Finding("scheduler", Status.OK, f"running for {len(queues)} queue{'s' if len(queues) != 1 else ''}")
    return Finding(
        "scheduler",
        Status.WARN,
        f"no scheduler for queue{'s' if len(missing) != 1 else ''} {', '.join(missing)}: "
        "retries with intervals and scheduled jobs never run",
        fix,
    )


def judge_reconciler(age: float | None, interval: float | None, late: bool) -> Finding:
    """The reconciler's last pass (`reconciler_health.py`): missing or late is a warning, since jobs RQ
    failed without our handler (a killed work-horse) then never reach the DLQ."""
    fix = "run `rq-dlq reconcile --watch` (the Procfile's reconciler line)"
    if age is None or interval is None:
        return Finding("reconciler", Status.WARN, "no reconciler has finished a pass", fix)
    found = f"last pass {age:.0f} s ago (every {interval:g} s)"
    if late:
        return Finding("reconciler", Status.WARN, f"{found}: late, is it still running?", fix)
    return Finding("reconciler", Status.OK, found)


# --- clock ---------------------------------------------------------------------------------------------
SKEW_WARN_SECONDS = 1.0  # RQ's scheduled jobs and our retry delays are timed by the clients' clocks
SKEW_FAIL_SECONDS = 30.0  # ... and our TTLs, the reconciler's lateness, the circuits' windows by the server's


def clock_skew(client_before: float, server_time: float, client_after: float) -> float:
    """Server minus client, the client's time taken halfway through the round trip."""
    return server_time - (client_before + client_after) / 2


def judge_skew(skew: float) -> Finding:
    """Above 1 s a warning, above 30 s a failure: RQ's schedules use the client's clock, our TTLs the server's."""
    direction = "ahead of" if skew > 0 else "behind"
    found = f"server {abs(skew):.3f} s {direction} this machine"
    fix = "synchronise both clocks (NTP)"
    if abs(skew) > SKEW_FAIL_SECONDS:
        return Finding("clock", Status.FAIL, f"{found}: scheduled jobs and TTLs are off by as much", fix)
    if abs(skew) > SKEW_WARN_SECONDS:
        return Finding("clock", Status.WARN, found, fix)
    return Finding("clock", Status.OK, found)
