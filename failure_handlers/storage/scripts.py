"""The Lua scripts for writes that must be atomic and read before they write: the DLQ's, and those of
alerts, the archive, circuit breakers and idempotent tasks.

Each script lives in `lua/<name>.lua` with a header listing its ARGV; `lua/prelude.lua`
(shared helpers and the key names, built from the prefix exactly as `keys.DlqKeys` does) is
prepended to every one. One script call is one atomic step and one round trip.

Scripts are sent as EVALSHA, falling back to EVAL (which also caches the script on the server)
when the server answers NOSCRIPT after a restart or a SCRIPT FLUSH. redis-py's `Script` objects do
the same for single calls, but inside a pipeline they first send SCRIPT EXISTS: a round trip of
its own, which the failure handler, writing the job's meta and its DLQ entry in one round trip,
cannot afford.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError

_LUA = files(__package__) / "lua"

ScriptArg = str | bytes | int | float


@dataclass(frozen=True)
class LuaScript:
    name: str
    text: str
    sha: str

    @classmethod
    def load(cls, name: str) -> LuaScript:
        text = _LUA.joinpath("prelude.lua").read_text() + "\n" + _LUA.joinpath(f"{name}.lua").read_text()
        return cls(name, text, hashlib.sha1(text.encode()).hexdigest())

    def run(self, client: Redis, args: Sequence[ScriptArg]) -> Any:
        """Run it now: one round trip (two the first time a server sees it)."""
        try:
            return client.evalsha(self.sha, 0, *args)
        except NoScriptError:
            return client.eval(self.text, 0, *args)

    def queue(self, pipe: Pipeline, args: Sequence[ScriptArg]) -> None:
        """Add it to `pipe`; check the reply with `rerun_if_unknown` after `pipe.execute(raise_on_error=False)`."""
        pipe.evalsha(self.sha, 0, *args)

    def rerun_if_unknown(self, client: Redis, reply: Any, args: Sequence[ScriptArg]) -> Any:
        """The reply of a queued call; run it again with EVAL if the server did not know the script.
        Other errors are raised."""
        if isinstance(reply, NoScriptError):
            return client.eval(self.text, 0, *args)
        if isinstance(reply, Exception):
            raise reply
        return reply


ADD = LuaScript.load("add")
DELETE = LuaScript.load("delete")
CLAIM = LuaScript.load("claim")
RELEASE = LuaScript.load("release")
REQUEUE_READ = LuaScript.load("requeue_read")
COUNT = LuaScript.load("count")
ALERT_CLAIM = LuaScript.load("alert_claim")
ARCHIVE_READ = LuaScript.load("archive_read")
CIRCUIT = LuaScript.load("circuit")
IDEMPOTENCY = LuaScript.load("idempotency")
MAINTENANCE_LOCK = LuaScript.load("maintenance_lock")
AUDIT = LuaScript.load("audit")
