"""`rq-dlq doctor` against real servers set up right and wrong.

A server set up for production (Debian's redis-server 7.0 with AOF, a replica, a worker running the
scheduler, a reconciler's record) passes every check, exit 0; an embedded valkey server (private: the
tests change its configuration and ACL users, never TEST_REDIS_URL's) is then set up wrong one way at a
time. The pure decisions are in tests/unit/test_doctor_verdicts.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq.scheduler import RQScheduler

from failure_handlers.dev.worker_process import start_worker, stop_worker
from failure_handlers.dlq.text import text
from failure_handlers.operations.reconciler_health import record_pass
from failure_handlers.storage.acl import ROLES
from failure_handlers.storage.keys import DlqKeys
from tests.acl_users import create_users, delete_users, user_url
from tests.conftest import TEST_ENV
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from tests.redis_servers import (
    DATA_ARGS,
    START_TIMEOUT_SECONDS,
    free_port,
    requires_redis_server,
    sentinel_setup,
    start_server,
)

pytestmark = pytest.mark.integration

PREFIX = TEST_ENV["DLQ_PREFIX"]


def doctor(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_script("-m", "failure_handlers.cli", "doctor", *args, env={**TEST_ENV, "REDIS_URL": url})


def statuses(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """{check: status} from the doctor's lines."""
    return {line.split()[1]: line.split()[0] for line in result.stdout.splitlines()}


def line_of(result: subprocess.CompletedProcess[str], check: str) -> str:
    return next(line for line in result.stdout.splitlines() if line.split()[1] == check)


@requires_redis_server
def test_a_server_set_up_for_production_passes_every_check(tmp_path: Path) -> None:
    primary = start_server(tmp_path / "primary", ["--save", "", "--appendonly", "yes"])
    replica = start_server(tmp_path / "replica", [*DATA_ARGS, "--replicaof", "127.0.0.1", str(primary.port)])
    worker = None
    try:
        admin = primary.client()
        wait_for(lambda: admin.info("replication")["connected_slaves"] == 1, START_TIMEOUT_SECONDS, "the replica")
        url = f"redis://127.0.0.1:{primary.port}/0"
        create_users(admin, PREFIX, ["worker"])
        worker = start_worker(url, ["default"], env=TEST_ENV, output=subprocess.DEVNULL)
        wait_for(lambda: admin.exists(RQScheduler.get_locking_key("default")), 30, "the worker's scheduler lock")
        record_pass(admin, DlqKeys(PREFIX), "reconciled 0 jobs", full=True, interval=5.0)

        result = doctor(url, "--role", "worker", "--acl-user", "worker")
        assert result.returncode == 0, result.stdout + result.stderr
        assert statuses(result) == dict.fromkeys(
            [
                "reachable",
                "version",
                "maxmemory-policy",
                "persistence",
                "replicas",
                "scheduler",
                "reconciler",
                "acl",
                "clock",
            ],
            "OK",
        ), result.stdout
        as_json = json.loads(doctor(url, "--json").stdout)
        assert as_json["status"] == "OK" and as_json["exit"] == 0
        assert {check["check"] for check in as_json["checks"]} >= {"version", "persistence", "clock"}
    finally:
        if worker is not None:
            stop_worker(worker)
        replica.stop()
        primary.stop()


@pytest.fixture
def admin(private_url: str) -> Iterator[Redis]:
    connection = Redis.from_url(private_url)
    connection.flushall()
    create_users(connection, PREFIX)
    yield connection
    connection.config_set("maxmemory-policy", "noeviction")
    connection.config_set("maxmemory", "0")
    delete_users(connection)
    connection.close()


def test_an_evicting_server_fails(admin: Redis, private_url: str) -> None:
    admin.config_set("maxmemory", "100mb")
    admin.config_set("maxmemory-policy", "allkeys-lru")
    result = doctor(private_url)
    assert result.returncode == 2, result.stdout
    line = line_of(result, "maxmemory-policy")
    assert line.startswith("FAIL") and "allkeys-lru" in line and "noeviction" in line


def test_an_evicting_policy_without_a_limit_warns(admin: Redis, private_url: str) -> None:
    admin.config_set("maxmemory-policy", "volatile-lru")
    result = doctor(private_url)
    assert line_of(result, "maxmemory-policy").startswith("WARN")
    assert result.returncode == 1, result.stdout


def test_persistence_off_warns(admin: Redis, private_url: str) -> None:
    assert admin.config_get("appendonly")["appendonly"] == "no" and admin.config_get("save")["save"] == ""
    result = doctor(private_url)
    assert line_of(result, "persistence").startswith("WARN"), result.stdout
    assert result.returncode == 1, result.stdout


def test_an_acl_user_lacking_a_command_of_its_role_fails_naming_it(admin: Redis, private_url: str) -> None:
    admin.execute_command("ACL", "SETUSER", "worker", "-evalsha")
    result = doctor(private_url, "--role", "worker", "--acl-user", "worker")
    assert result.returncode == 2, result.stdout
    line = line_of(result, "acl")
    assert line.startswith("FAIL") and "evalsha" in line and "rq-dlq acl worker" in line


@pytest.mark.parametrize("role", list(ROLES))
def test_each_roles_user_holds_what_its_role_needs(admin: Redis, private_url: str, role: str) -> None:
    result = doctor(private_url, "--role", role, "--acl-user", role)
    assert line_of(result, "acl").startswith("OK"), result.stdout


def test_the_viewer_can_run_it_and_it_sends_no_write(admin: Redis, private_url: str) -> None:
    forbidden = {text(name) for category in ("write", "scripting") for name in admin.acl_cat(category)}
    admin.config_resetstat()
    result = doctor(user_url(private_url, "viewer"), "--role", "viewer")
    assert result.returncode == 1, result.stdout + result.stderr  # warnings: no admin rights to check the ACL
    assert "error" not in result.stderr and "Traceback" not in result.stderr
    line = line_of(result, "acl")
    assert line.startswith("WARN") and "cannot be checked" in line and "--acl-user viewer" in line
    sent = {name.removeprefix("cmdstat_").split("|")[0] for name in admin.info("commandstats")}
    assert {"info", "time", "smembers"} <= sent
    assert sent & forbidden == set()


def test_an_unreachable_server_is_one_fail_line() -> None:
    result = doctor(f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 2
    assert result.stdout.startswith("FAIL reachable") and len(result.stdout.splitlines()) == 1


def test_acl_user_without_role_is_bad_usage(private_url: str) -> None:
    assert_one_line_error(doctor(private_url, "--acl-user", "worker"), "--acl-user needs --role")


def test_the_console_script_is_registered() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "failure_handlers.cli", "doctor", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "--role" in result.stdout


@requires_redis_server
def test_it_follows_a_sentinel_url_to_the_primary(tmp_path: Path) -> None:
    with sentinel_setup(tmp_path) as setup:
        result = doctor(setup.url())
        assert line_of(result, "reachable").startswith("OK"), result.stdout + result.stderr
        assert "redis+sentinel://" in line_of(result, "reachable")
        assert line_of(result, "replicas").startswith("OK")  # the primary, with its replica
