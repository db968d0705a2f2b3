"""`rq-dlq doctor`: read what the server says about itself and judge it (`verdicts.py`, `acl_probes.py`).

Only reads: INFO, TIME, CONFIG GET and ACL DRYRUN/WHOAMI/GETUSER when the user may (a refusal is an
answer, not an error), SMEMBERS/HGET/EXISTS on RQ's keys and HGETALL on the reconciler's record. A viewer
ACL user can run it (tests/integration/test_reads_never_write.py's rule).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from redis import Redis
from redis.exceptions import NoPermissionError, RedisError, ResponseError
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.worker_registration import REDIS_WORKER_KEYS

from failure_handlers.config import DEFAULT_REDIS_URL, Settings
from failure_handlers.dlq.text import text
from failure_handlers.errors import RedisUnavailable
from failure_handlers.operations.doctor import acl_probes
from failure_handlers.operations.doctor.verdicts import (
    Finding,
    Replication,
    Status,
    clock_skew,
    judge_eviction,
    judge_persistence,
    judge_reconciler,
    judge_replicas,
    judge_scheduler,
    judge_skew,
    judge_version,
)
from failure_handlers.operations.reconciler_health import last_pass
from failure_handlers.redaction import redact_url
from failure_handlers.storage.keys import DlqKeys

Connect = Callable[[str | None], Redis]


def examine(
    settings: Settings,
    connect: Connect,
    role: str | None = None,
    acl_user: str | None = None,
    clock: Callable[[], float] = time.time,
) -> list[Finding]:
    """Every check, in order; an unreachable server is the only finding (nothing else can be asked)."""
    shown = redact_url(settings.redis_url or DEFAULT_REDIS_URL)
    started = clock()
    try:
        connection = connect(settings.redis_url)
    except RedisUnavailable as error:
        return [Finding("reachable", Status.FAIL, str(error), "check REDIS_URL and that the server runs")]
    findings = [Finding("reachable", Status.OK, f"{shown} ({(clock() - started) * 1000:.0f} ms to connect)")]
    info = _read(lambda: connection.info())
    if isinstance(info, Finding):
        findings.append(info)
    else:
        findings += _server_findings(connection, info, settings)
    findings.append(_scheduler(connection))
    findings.append(_reconciler(connection, settings, clock))
    if role:
        url_user = unquote(urlsplit(settings.redis_url or DEFAULT_REDIS_URL).username or "") or "default"
        findings.append(_acl(connection, role, acl_user, url_user, settings.dlq.prefix))
    findings.append(_clock(connection, clock))
    return findings


def _read(call: Callable[[], Any], check: str = "server info") -> Any:
    """`call()`, or a WARN finding when this user may not run it."""
    try:
        return call()
    except NoPermissionError as error:
        return Finding(check, Status.WARN, f"this user may not read it ({error})", "grant +info (every role has it)")


def _config(connection: Redis, name: str) -> str | None:
    """CONFIG GET `name`, or None when this user may not (managed services often rename CONFIG away)."""
    try:
        value = connection.config_get(name).get(name)
    except (NoPermissionError, ResponseError):
        return None
    return None if value is None else str(value)


def _server_findings(connection: Redis, info: dict[str, Any], settings: Settings) -> list[Finding]:
    valkey = info.get("valkey_version")
    version = judge_version(str(info.get("redis_version", "")), str(valkey) if valkey else None)
    eviction = judge_eviction(str(info.get("maxmemory_policy", "")), int(info.get("maxmemory", 0)))
    rdb_saves = info.get("rdb_saves")
    persistence = judge_persistence(
        aof_enabled=bool(int(info.get("aof_enabled", 0))),
        rdb_schedule=_config(connection, "save"),
        rdb_saves=int(rdb_saves) if rdb_saves is not None else None,
        last_write_ok=info.get("rdb_last_bgsave_status", "ok") == "ok"
        and info.get("aof_last_write_status", "ok") == "ok",
    )
    min_to_write = _config(connection, "min-replicas-to-write")
    good = info.get("min_slaves_good_slaves")
    replication = Replication(
        role=str(info.get("role", "master")),
        connected_replicas=int(info.get("connected_slaves", 0)),
        min_replicas_to_write=int(min_to_write) if min_to_write else (1 if good is not None else None),
        good_replicas=int(good) if good is not None else None,
    )
    # DLQ_WAIT_REPLICAS (issue 18): read when the DLQ settings have it
    return [version, eviction, persistence, judge_replicas(replication, settings.dlq.wait_replicas)]


def _scheduler(connection: Redis) -> Finding:
    """Queues known to RQ (`rq:queues`) or listened to by a live worker, against the scheduler locks held."""
    try:
        queues = {
            text(key).removeprefix(Queue.redis_queue_namespace_prefix)
            for key in connection.smembers(Queue.redis_queues_keys)
        }
        worker_keys = list(connection.smembers(REDIS_WORKER_KEYS))
        with connection.pipeline(transaction=False) as pipe:
            for key in worker_keys:
                pipe.hget(text(key), "queues")
            listened = pipe.execute()
        for names in listened:
            queues.update(name for name in text(names or "").split(",") if name)
        ordered = sorted(queues)
        with connection.pipeline(transaction=False) as pipe:
            for queue in ordered:
                pipe.exists(RQScheduler.get_locking_key(queue))
            held = pipe.execute()
    except NoPermissionError as error:
        return Finding("scheduler", Status.WARN, f"cannot be read by this user ({error})", "run doctor as the viewer")
    return judge_scheduler(ordered, [queue for queue, exists in zip(ordered, held, strict=True) if exists])


def _reconciler(connection: Redis, settings: Settings, clock: Callable[[], float]) -> Finding:
    try:
        record = last_pass(connection, DlqKeys(settings.dlq.prefix))
    except NoPermissionError as error:
        return Finding("reconciler", Status.WARN, f"cannot be read by this user ({error})", "run doctor as the viewer")
    if record is None:
        return judge_reconciler(None, None, late=False)
    now = clock()
    return judge_reconciler(max(0.0, now - record.at), record.interval, record.is_late(now))


def _acl(connection: Redis, role: str, acl_user: str | None, url_user: str, prefix: str) -> Finding:
    """ACL DRYRUN each probe of the role; else ACL GETUSER; else say it cannot be checked (never FAIL for that).

    The user is `acl_user`, else ACL WHOAMI's answer, else the URL's (a user may be refused WHOAMI)."""
    try:
        user = acl_user or text(connection.acl_whoami())
    except (NoPermissionError, ResponseError):
        user = url_user
    refusals: dict[str, str] = {}
    try:
        for probe in acl_probes.role_probes(role, prefix):
            answer = text(connection.acl_dryrun(user, *probe))
            if answer != "OK":
                refusals.setdefault(acl_probes.command_name(probe), answer)
    except NoPermissionError:
        return _getuser(connection, role, user)
    except ResponseError as error:
        if "not found" in str(error).lower():
            return acl_probes.judge_dryrun(role, user, {"every command": f"no ACL user {user!r} on this server"})
        return _getuser(connection, role, user)  # a server without ACL DRYRUN (Redis 6)
    return acl_probes.judge_dryrun(role, user, refusals)


def _getuser(connection: Redis, role: str, user: str) -> Finding:
    try:
        described = connection.acl_getuser(user)
    except (NoPermissionError, ResponseError) as error:
        return acl_probes.cannot_check(role, user, f"ACL DRYRUN and ACL GETUSER are refused ({error})")
    if not described:
        return acl_probes.judge_dryrun(role, user, {"every command": f"no ACL user {user!r} on this server"})

    def words(field: str) -> list[str]:
        value: object = described.get(field, "")
        items = value if isinstance(value, list) else str(value).split()
        return [text(item) if isinstance(item, bytes | str) else str(item) for item in items]

    flags = words("flags")
    return acl_probes.judge_getuser(
        role, user, flags, " ".join(words("commands")), " ".join(words("keys")), " ".join(words("channels"))
    )


def _clock(connection: Redis, clock: Callable[[], float]) -> Finding:
    try:
        before = clock()
        seconds, microseconds = connection.time()
        after = clock()
    except NoPermissionError as error:
        return Finding("clock", Status.WARN, f"TIME refused ({error})", "grant +time (every role has it)")
    except RedisError as error:
        return Finding("clock", Status.WARN, f"TIME failed ({error})", "")
    return judge_skew(clock_skew(before, seconds + microseconds / 1e6, after))
