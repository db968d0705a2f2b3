"""The Lua prelude's lazily made helpers (failure_handlers/storage/lua/prelude.lua): a script reaches
them only through `helpers()`, so that the add script, which runs on every dead-lettering, makes them
only on its rare paths (each Lua closure, table and captured local costs the server instructions)."""

from __future__ import annotations

import re

import pytest

from failure_handlers.storage import scripts

LUA = scripts._LUA
PRELUDE = LUA.joinpath("prelude.lua").read_text()
SCRIPTS = sorted(path.name for path in LUA.iterdir() if path.name.endswith(".lua") and path.name != "prelude.lua")


def code(text: str) -> str:
    """Lua text without comments and string literals (none of ours spans lines or holds `--`)."""
    text = re.sub(r"--[^\n]*", "", text)
    return re.sub(r"'(\\.|[^'\\\n])*'|\"(\\.|[^\"\\\n])*\"", "''", text)


def made_names() -> list[str]:
    table = re.search(r"made = \{(.*?)\n  \}", PRELUDE, re.S)
    assert table, "prelude.lua: helpers() builds its `made` table"
    return re.findall(r"(\w+) = \w+", table.group(1))


def test_the_prelude_makes_the_rare_helpers_on_demand():
    names = made_names()
    assert {"kinds", "fields", "groups_key", "unindex", "archive_event", "admitted"} <= set(names)
    top_level = [line for line in code(PRELUDE).splitlines() if line.startswith("local ")]
    assert not [line for line in top_level if set(re.findall(r"\w+", line)) & set(names)]


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_script_uses_a_helper_only_as_a_local_taken_from_helpers(name):
    """A bare use of a name the prelude no longer defines would be a global: an error on the server."""
    body = code(LUA.joinpath(name).read_text())
    for helper in made_names():
        for use in re.finditer(rf"(?<![\w.]){helper}\b", body):
            declared = re.search(rf"\blocal\b[^=\n]*\b{helper}\b", body[: use.end()])
            assert declared, f"{name}: `{helper}` used without `local {helper} = helpers().{helper}` before it"
