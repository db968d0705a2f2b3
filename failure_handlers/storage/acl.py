"""Least privilege: the Redis ACL of each role, declared once.

`docs/production-redis.md` ("Least privilege"), `rq-dlq acl` and the tests
(`tests/integration/test_acl_roles.py`, which run each role's commands as that user on a real
server) all render their lines from `ROLES`. Each line starts with `reset`, so running it again
gives the user exactly this ACL and nothing left over from an earlier one.

What the lines rest on:
- Keys: RQ's (`rq:*`) and ours (`<DLQ_PREFIX>*`; covered by `rq:*` with the default `rq:dlq:`).
  `~pattern` may read and write, `%R~pattern` only read (Redis 7): the viewer reads everything, the
  archiver and the notifier write only their own keys under the prefix (`keys.py`).
- Commands: data commands by category (`+@read`, `+@write`), so a rarely taken path of RQ or of a
  script (a trim, a retry, a circuit) is not refused in production; the keys are the boundary.
  `-@dangerous -@scripting` then takes back what those categories and `+@connection` hold beyond
  the keys (FLUSHALL, FLUSHDB, KEYS, SORT, CLIENT KILL, FUNCTION FLUSH ...). The rest is named: our
  Lua scripts (`EVALSHA`, `EVAL` once after a restart, `SCRIPT LOAD`), `MULTI`/`EXEC`/`WATCH` for
  RQ's and our pipelines, `INFO` (RQ's and our version checks), `TIME` (the circuits' clock),
  `SUBSCRIBE` for the worker's command channel (`rq:pubsub:<worker name>`).
- The audit log (`<prefix>audit`) is appended by whoever acts (the operator's commands and dashboard,
  in `lua/audit.lua`) and read by everyone, the viewer included (`rq-dlq audit`, the Activity page).
- Only the archiver consumes the archive's event stream (`XREADGROUP`, `XACK`, `XAUTOCLAIM`,
  `XGROUP`, `XCLAIM`); the other writers only append to it (`XADD`, from our scripts).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

DEFAULT_PREFIX = "rq:dlq:"
RQ_KEYS = "rq:*"
PASSWORD_PLACEHOLDER = "PASSWORD"
RQ_WORKER_CHANNELS = "rq:pubsub:*"  # RQ's worker commands (`rq.command`): one channel per worker

READ = ("+@read", "+@connection")
WRITE = ("+@read", "+@write", "+@connection")
# After the categories, TAKE_BACK: -@dangerous (FLUSHALL, FLUSHDB, SWAPDB, KEYS, SORT, MIGRATE, CLIENT KILL,
# CLIENT LIST, ...) and -@scripting (FUNCTION LOAD/FLUSH/DELETE are in @write, SCRIPT FLUSH ...); then the
# commands named below are added back (INFO is one of @dangerous, our scripts' commands of @scripting).
TAKE_BACK = ("-@dangerous", "-@scripting")
SERVER = ("+info", "+time")
SCRIPTS = ("+evalsha", "+eval", "+script|load")
TRANSACTIONS = ("+multi", "+exec", "+discard", "+watch", "+unwatch")
STREAM_CONSUMER = ("xreadgroup", "xack", "xautoclaim", "xclaim", "xgroup")
NOT_CONSUMING = tuple(f"-{command}" for command in STREAM_CONSUMER)


@dataclass(frozen=True)
class Role:
    """One role: who runs as it, and what its ACL user may do.

    `writes`: the key patterns under the prefix it may write (`*`: all of them, and RQ's keys too);
    without any it only reads. `categories`, then `TAKE_BACK`, then `commands` (Redis applies the
    rules left to right).
    """

    name: str
    runs: str
    categories: tuple[str, ...]
    commands: tuple[str, ...]
    writes: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    def key_rules(self, prefix: str) -> list[str]:
        """`~pattern` (read and write) and `%R~pattern` (read only) for RQ's keys and ours."""
        if self.writes == ("*",):
            return [f"~{pattern}" for pattern in key_patterns(prefix)]
        return [f"%R~{pattern}" for pattern in key_patterns(prefix)] + [
            f"~{prefix}{pattern}" for pattern in self.writes
        ]

    def setuser_args(self, prefix: str = DEFAULT_PREFIX, password: str = PASSWORD_PLACEHOLDER) -> list[str]:
        """The arguments of `ACL SETUSER <name>`, after the user name."""
        channels = [f"&{channel}" for channel in self.channels]
        rules = [*self.categories, *TAKE_BACK, *self.commands]
        return ["reset", "on", f">{password}", *self.key_rules(prefix), "resetchannels", *channels, *rules]

    def setuser_line(self, prefix: str = DEFAULT_PREFIX, password: str = PASSWORD_PLACEHOLDER) -> str:
        """`ACL SETUSER <role> reset on >PASSWORD ...`, ready for redis-cli."""
        return " ".join(["ACL", "SETUSER", self.name, *self.setuser_args(prefix, password)])


def key_patterns(prefix: str) -> list[str]:
    """RQ's keys, and ours unless `rq:*` already covers them (the default prefix `rq:dlq:`)."""
    return [RQ_KEYS] if fnmatch.fnmatchcase(prefix, RQ_KEYS) else [RQ_KEYS, f"{prefix}*"]


_WRITER = (*SERVER, *SCRIPTS, *TRANSACTIONS, *NOT_CONSUMING)

ROLES: dict[str, Role] = {
    role.name: role
    for role in (
        Role(
            "worker",
            "rq worker -c failure_handlers.rq_settings -w failure_handlers.queues.PausableWorker --with-scheduler "
            "--exception-handler "
            "failure_handlers.integration.record_failure (the Procfile's worker)",
            WRITE,
            (*_WRITER, "+subscribe", "+unsubscribe"),
            writes=("*",),
            channels=(RQ_WORKER_CHANNELS,),
        ),
        Role("reconciler", "rq-dlq reconcile --watch", WRITE, _WRITER, writes=("*",)),
        Role(
            "operator",
            "rq-dlq requeue (and replay), delete, purge, pause, resume (each recorded in <prefix>audit); the "
            "dashboard with DASHBOARD_READ_ONLY=false",
            WRITE,
            _WRITER,
            writes=("*",),
        ),
        Role(
            "viewer",
            "rq-dlq list, show, stats, check, circuits, history, audit; the dashboard with DASHBOARD_READ_ONLY=true; "
            "the exporter (rq-dlq metrics)",
            READ,
            SERVER,
        ),
        Role(
            "archiver",
            "rq-dlq archive run",
            WRITE,
            (*SERVER, *SCRIPTS),
            writes=("archive:*",),
        ),
        Role(
            "notifier",
            "rq-dlq alert --watch",
            WRITE,
            (*SERVER, *SCRIPTS, *TRANSACTIONS),
            writes=("alerts:*",),
        ),
    )
}


def setuser_lines(roles: list[str] | None = None, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The `ACL SETUSER` line of each role named (all of them by default), in `ROLES` order."""
    return [ROLES[name].setuser_line(prefix) for name in (roles or list(ROLES))]
