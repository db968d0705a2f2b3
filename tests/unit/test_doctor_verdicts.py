"""The doctor's decisions (failure_handlers/operations/doctor/verdicts.py, acl_probes.py), without Redis."""

from __future__ import annotations

import pytest

from failure_handlers.operations.doctor.acl_probes import (
    cannot_check,
    command_name,
    judge_dryrun,
    judge_getuser,
    role_probes,
)
from failure_handlers.operations.doctor.verdicts import (
    Finding,
    Replication,
    Status,
    clock_skew,
    exit_status,
    judge_eviction,
    judge_persistence,
    judge_reconciler,
    judge_replicas,
    judge_scheduler,
    judge_skew,
    judge_version,
    parse_version,
)
from failure_handlers.storage.acl import ROLES


def test_exit_status_is_the_worst_finding() -> None:
    ok, warn, fail = (Finding("x", status, "") for status in Status)
    assert exit_status([ok, ok]) == 0
    assert exit_status([ok, warn]) == 1
    assert exit_status([warn, fail, ok]) == 2
    assert exit_status([]) == 0


def test_a_line_says_status_check_what_was_found_and_what_to_do() -> None:
    line = Finding("persistence", Status.WARN, "off", "turn AOF on").line()
    assert line.split() == ["WARN", "persistence", "off", "->", "turn", "AOF", "on"]


@pytest.mark.parametrize(
    ("redis_version", "valkey_version", "status"),
    [
        ("7.0.15", None, Status.OK),
        ("7.2.4", None, Status.OK),
        ("6.2.14", None, Status.WARN),
        ("5.0.7", None, Status.WARN),
        ("4.0.14", None, Status.FAIL),
        ("7.2.4", "8.0.1", Status.OK),
        ("7.2.4", "7.2.5", Status.OK),
        ("garbage", None, Status.WARN),
    ],
)
def test_version(redis_version: str, valkey_version: str | None, status: Status) -> None:
    assert judge_version(redis_version, valkey_version).status is status


def test_parse_version_keeps_leading_digits() -> None:
    assert parse_version("7.2.4-rc1") == (7, 2, 4)
    assert parse_version("x") == ()


@pytest.mark.parametrize(
    ("policy", "maxmemory", "status"),
    [
        ("noeviction", 0, Status.OK),
        ("noeviction", 1 << 30, Status.OK),
        ("allkeys-lru", 1 << 30, Status.FAIL),
        ("volatile-ttl", 1 << 30, Status.FAIL),  # DLQ entries have a TTL: volatile-* evicts them too
        ("allkeys-lru", 0, Status.WARN),  # no limit: nothing evicted until one is set
    ],
)
def test_only_noeviction_keeps_jobs_and_entries(policy: str, maxmemory: int, status: Status) -> None:
    finding = judge_eviction(policy, maxmemory)
    assert finding.status is status
    assert (status is Status.OK) == (finding.fix == "")


@pytest.mark.parametrize(
    ("aof", "schedule", "saves", "ok", "status"),
    [
        (True, "", 0, True, Status.OK),
        (False, "3600 1 300 100", 0, True, Status.OK),
        (False, "", 0, True, Status.WARN),
        (False, None, 3, True, Status.OK),  # CONFIG GET refused, but snapshots are being taken
        (False, None, 0, True, Status.WARN),  # cannot tell
        (True, "", 0, False, Status.FAIL),  # the last write failed
    ],
)
def test_persistence(aof: bool, schedule: str | None, saves: int, ok: bool, status: Status) -> None:
    assert judge_persistence(aof, schedule, saves, ok).status is status


def test_replicas() -> None:
    assert judge_replicas(Replication("master", 1), None).status is Status.OK
    assert judge_replicas(Replication("master", 0), None).status is Status.WARN
    assert judge_replicas(Replication("slave", 0), None).status is Status.FAIL
    assert judge_replicas(Replication("master", 1), wait_replicas=2).status is Status.FAIL
    assert judge_replicas(Replication("master", 2), wait_replicas=2).status is Status.OK
    refusing = Replication("master", 1, min_replicas_to_write=2, good_replicas=1)
    assert "refuses every write" in judge_replicas(refusing, None).found


def test_scheduler_names_the_queues_without_one() -> None:
    assert judge_scheduler(["default", "emails"], ["default", "emails"]).status is Status.OK
    finding = judge_scheduler(["default", "emails"], ["default"])
    assert finding.status is Status.WARN
    assert "emails" in finding.found and "--with-scheduler" in finding.fix
    assert judge_scheduler([], []).status is Status.WARN


def test_reconciler() -> None:
    assert judge_reconciler(4.0, 5.0, late=False).status is Status.OK
    assert judge_reconciler(400.0, 5.0, late=True).status is Status.WARN
    assert judge_reconciler(None, None, late=False).status is Status.WARN


def test_clock_skew_takes_the_client_time_halfway_through_the_round_trip() -> None:
    assert clock_skew(100.0, 102.0, 100.2) == pytest.approx(1.9)
    assert clock_skew(100.0, 99.0, 100.0) == pytest.approx(-1.0)


@pytest.mark.parametrize(
    ("skew", "status"),
    [
        (0.0, Status.OK),
        (0.9, Status.OK),
        (-1.5, Status.WARN),
        (29.0, Status.WARN),
        (31.0, Status.FAIL),
        (-45.0, Status.FAIL),
    ],
)
def test_skew_thresholds(skew: float, status: Status) -> None:
    assert judge_skew(skew).status is status


@pytest.mark.parametrize("role", list(ROLES))
def test_every_role_has_probes_on_its_prefix(role: str) -> None:
    probes = role_probes(role, "app:dlq:")
    assert ("INFO",) in probes
    assert any("app:dlq:" in argument for probe in probes for argument in probe)


def test_only_writers_are_probed_for_writes_to_rq_keys() -> None:
    assert not any(probe[0] == "HSET" and probe[1].startswith("rq:job:") for probe in role_probes("viewer", "rq:dlq:"))
    assert any(probe[0] == "SUBSCRIBE" for probe in role_probes("worker", "rq:dlq:"))
    assert any(probe[0] == "XREADGROUP" for probe in role_probes("archiver", "rq:dlq:"))


def test_command_names_as_redis_names_them() -> None:
    assert command_name(("SCRIPT", "LOAD", "return 1")) == "script load"
    assert command_name(("EVALSHA", "0" * 40, "0")) == "evalsha"


def test_a_refused_command_fails_naming_it() -> None:
    finding = judge_dryrun("worker", "w", {"evalsha": "no permissions to run the 'evalsha' command"})
    assert finding.status is Status.FAIL
    assert "evalsha" in finding.found and "rq-dlq acl worker" in finding.fix
    assert judge_dryrun("worker", "w", {}).status is Status.OK


def test_without_dryrun_only_an_unrestricted_user_is_proven() -> None:
    assert judge_getuser("worker", "u", ["on", "allkeys", "allchannels", "allcommands"], "", "", "").status is Status.OK
    assert judge_getuser("worker", "u", ["on"], "+@all", "~*", "&*").status is Status.OK
    assert judge_getuser("worker", "u", ["on"], "+@read", "~rq:*", "").status is Status.WARN
    assert judge_getuser("worker", "u", ["off"], "+@all", "~*", "&*").status is Status.FAIL


def test_lacking_admin_rights_is_never_a_failure() -> None:
    assert cannot_check("viewer", "viewer", "ACL DRYRUN refused").status is Status.WARN
