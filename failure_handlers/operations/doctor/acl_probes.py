"""Does an ACL user hold what a role (`storage/acl.py` ROLES) needs? The commands to ask about, and the
verdict on the answers. Pure code; `checks.py` asks the server (`ACL DRYRUN`, else `ACL GETUSER`).

Each probe is one command a process of the role really sends, on a key of the kind it touches (RQ's
`rq:*` keys, ours under the prefix), so a user whose key patterns are too narrow is caught as well as
one missing a command. `ACL DRYRUN` only checks the permission: nothing is run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rq.command import PUBSUB_CHANNEL_TEMPLATE
from rq.job import Job
from rq.queue import Queue
from rq.registry import FailedJobRegistry
from rq.scheduler import RQScheduler
from rq.worker_registration import REDIS_WORKER_KEYS

from failure_handlers.operations.doctor.verdicts import Finding, Status
from failure_handlers.storage.keys import DlqKeys

PROBE_ID = "doctor-probe"  # a job, queue and worker name no one uses: only the key's shape matters
NO_SUCH_SHA = "0" * 40
Probe = tuple[str, ...]


def role_probes(role: str, prefix: str) -> list[Probe]:
    """The commands `role` must be allowed, with key arguments under `prefix` and RQ's keys."""
    keys = DlqKeys(prefix)
    entry, job = keys.entry(PROBE_ID), Job.redis_job_namespace_prefix + PROBE_ID
    failed = FailedJobRegistry.key_template.format(PROBE_ID)
    reads: list[Probe] = [
        ("INFO",),
        ("TIME",),
        ("HGETALL", entry),
        ("ZRANGE", keys.index, "0", "-1"),
        ("HGETALL", job),
        ("SMEMBERS", Queue.redis_queues_keys),
        ("SMEMBERS", REDIS_WORKER_KEYS),
        ("ZRANGE", failed, "0", "-1"),
        ("XREVRANGE", keys.audit, "+", "-", "COUNT", "1"),  # rq-dlq audit, the Activity page
    ]
    writes: list[Probe] = [
        ("HSET", job, "status", "failed"),
        ("RPUSH", Queue.redis_queue_namespace_prefix + PROBE_ID, PROBE_ID),
        ("ZADD", failed, "0", PROBE_ID),
        ("DEL", entry),
        ("EVALSHA", NO_SUCH_SHA, "2", entry, keys.index),
        ("EVAL", "return 1", "1", entry),
        ("SCRIPT", "LOAD", "return 1"),
        ("WATCH", job),
        ("MULTI",),
        ("EXEC",),
    ]
    extra: dict[str, list[Probe]] = {
        "worker": [
            ("SUBSCRIBE", PUBSUB_CHANNEL_TEMPLATE % PROBE_ID),
            ("SET", RQScheduler.get_locking_key(PROBE_ID), PROBE_ID, "NX", "EX", "60"),
        ],
        "reconciler": [],
        "operator": [("XADD", keys.audit, "MAXLEN", "10000", "*", "record", "{}")],  # each action's audit record
        "viewer": [],
        "archiver": [
            ("XGROUP", "CREATE", keys.archive_events, PROBE_ID, "0", "MKSTREAM"),
            ("XREADGROUP", "GROUP", PROBE_ID, PROBE_ID, "COUNT", "1", "STREAMS", keys.archive_events, ">"),
            ("XAUTOCLAIM", keys.archive_events, PROBE_ID, PROBE_ID, "60000", "0-0"),
            ("XACK", keys.archive_events, PROBE_ID, "0-1"),
            ("HSET", keys.archive_state, PROBE_ID, "1"),
            ("EVALSHA", NO_SUCH_SHA, "1", keys.archive_state),
        ],
        "notifier": [
            ("RPUSH", keys.alert_outbox, PROBE_ID),
            ("EVALSHA", NO_SUCH_SHA, "1", keys.alert_outbox),
            ("MULTI",),
            ("EXEC",),
        ],
    }
    if role not in extra:
        raise ValueError(f"unknown role {role!r}")
    return reads + (writes if role in {"worker", "reconciler", "operator"} else []) + extra[role]


def command_name(probe: Probe) -> str:
    """`SCRIPT LOAD` for a container command, else the command: how Redis names it in a refusal."""
    if probe[0] in {"SCRIPT", "XGROUP", "CONFIG", "CLIENT"} and len(probe) > 1:
        return f"{probe[0]} {probe[1]}".lower()
    return probe[0].lower()


def judge_dryrun(role: str, user: str, refusals: Mapping[str, str]) -> Finding:
    """`refusals`: the probes' command names the server refused, each with its reason (empty: all allowed)."""
    if not refusals:
        return Finding("acl", Status.OK, f"user {user} may run everything the {role} role sends")
    missing = ", ".join(f"{command} ({reason})" for command, reason in refusals.items())
    return Finding(
        "acl",
        Status.FAIL,
        f"user {user} lacks what the {role} role needs: {missing}",
        f"ACL SETUSER {user} as `rq-dlq acl {role}` prints",
    )


def judge_getuser(role: str, user: str, flags: Sequence[str], commands: str, keys: str, channels: str) -> Finding:
    """Without `ACL DRYRUN` (Redis 6), `ACL GETUSER` only proves an unrestricted user; anything narrower
    cannot be evaluated here (a warning, never a failure)."""
    if "off" in flags:
        return Finding("acl", Status.FAIL, f"user {user} is disabled (off)", f"ACL SETUSER {user} on")
    all_commands = "allcommands" in flags or commands.split() == ["+@all"]
    all_keys = "allkeys" in flags or "~*" in keys.split()
    all_channels = "allchannels" in flags or "&*" in channels.split() or role != "worker"
    if all_commands and all_keys and all_channels:
        return Finding("acl", Status.OK, f"user {user} may run every command on every key")
    return Finding(
        "acl",
        Status.WARN,
        f"user {user} is restricted and this server has no ACL DRYRUN (Redis 7) to check the {role} role",
        f"compare `ACL GETUSER {user}` with `rq-dlq acl {role}`",
    )


def cannot_check(role: str, user: str, reason: str) -> Finding:
    """Checking needs ACL DRYRUN or ACL GETUSER (admin rights): a warning, never a failure."""
    return Finding(
        "acl",
        Status.WARN,
        f"the {role} role's permissions of user {user} cannot be checked: {reason}",
        f"run `rq-dlq doctor --role {role} --acl-user {user}` with an admin's REDIS_URL",
    )
