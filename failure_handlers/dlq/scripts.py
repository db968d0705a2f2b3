"""The Lua scripts for DLQ writes that must be atomic and read before they write.

Each script lives in `lua/<name>.lua` with a header listing its ARGV; `lua/prelude.lua`
(shared helpers and the key names, built from the prefix exactly as `keys.DlqKeys` does) is
prepended to every one. One script call is one atomic step and one round trip.
"""

from __future__ import annotations

from importlib.resources import files

_LUA = files(__package__) / "lua"


def _load(name: str) -> str:
    return _LUA.joinpath("prelude.lua").read_text() + "\n" + _LUA.joinpath(f"{name}.lua").read_text()


ADD = _load("add")
DELETE = _load("delete")
CLAIM = _load("claim")
RELEASE = _load("release")
