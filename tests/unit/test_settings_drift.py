"""The configuration the code reads, its README table and `.env.example` say the same thing.

The code's side is `config.VARIABLES`: every subsystem's `DEFAULTS` table (name -> default), which
its parser reads through `settings_reader.Reader` (reading an undeclared name fails), so the table is
what the code reads. A default is compared as `.env.example` writes it (`shown_default`): `30,60,120`,
`true`, and `` (nothing) for a default that is unset or empty.

README.md: the first table after `## Configuration`, columns `| variable | default | ... |`. Column 1
names one or more variables, each in backticks, comma-separated; column 2 gives their defaults in
the same order: a backticked literal, or the word `empty` for a default written as nothing. Text
outside backticks (`(7 days)`) is ignored. `.env.example`: one uncommented `NAME=default` line each.
"""

from __future__ import annotations

import re
from pathlib import Path

from failure_handlers.config import VARIABLES, read_settings
from failure_handlers.settings_reader import shown_default

ROOT = Path(__file__).resolve().parents[2]
CODE = {name: shown_default(default) for name, default in VARIABLES.items()}


def readme_table() -> dict[str, str]:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    at = lines.index("## Configuration")
    header = next(n for n in range(at, len(lines)) if lines[n].startswith("| variable | default |"))
    table: dict[str, str] = {}
    for line in lines[header + 2 :]:
        if not line.startswith("|"):
            break
        names_cell, defaults_cell = line.split("|")[1:3]
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", names_cell)
        defaults = [m.group(1) or "" for m in re.finditer(r"`([^`]*)`|\bempty\b", defaults_cell)]
        assert len(names) == len(defaults), f"README row names {names} but gives {len(defaults)} defaults: {line}"
        for name, default in zip(names, defaults, strict=True):
            assert name not in table, f"README lists {name} twice"
            table[name] = default
    return table


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f".env.example: not NAME=value: {line!r}"
            assert name not in values, f".env.example sets {name} twice"
            values[name.strip()] = value.strip()
    return values


def test_the_parsers_read_exactly_the_declared_variables():
    read: list[str] = []
    read_settings(lambda name: read.append(name))
    assert sorted(set(read)) == sorted(VARIABLES)


def test_the_readme_table_lists_every_variable_with_the_codes_default():
    table = readme_table()
    assert sorted(table) == sorted(CODE), "README's configuration table and the code's variables differ"
    assert {name: table[name] for name in CODE} == CODE


def test_env_example_sets_every_variable_to_the_codes_default():
    values = env_example()
    assert sorted(values) == sorted(CODE), ".env.example and the code's variables differ"
    assert {name: values[name] for name in CODE} == CODE
