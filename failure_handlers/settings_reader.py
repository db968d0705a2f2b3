"""Reading configuration values: the one set of rules every subsystem's `settings.py` parses with.

A subsystem declares its variables and their defaults in one table (`DEFAULTS`, name -> default)
and reads them through a `Reader` over that table: reading a name the table does not declare is a
programming error (KeyError), so the tables list exactly what the code reads, and the drift test
compares them with the README's configuration table and `.env.example`. A bad value raises a
one-line `ConfigError` naming the variable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from failure_handlers.errors import ConfigError
from failure_handlers.redaction import redact_endpoint

Source = Callable[[str], "str | None"]
"""Variable name -> its text, stripped, or None when unset or blank."""

DOTTED_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def source_of(values: Mapping[str, str | None]) -> Source:
    """A `Source` over a mapping of variable name to text (`.env` and the environment)."""

    def get(name: str) -> str | None:
        value = values.get(name)
        return None if value is None or value.strip() == "" else value.strip()

    return get


def shown_default(default: object) -> str:
    """A default as `.env.example` writes it: `30,60,120`, `true`, or `` for none."""
    if default is None:
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, tuple | list | frozenset):
        return ",".join(str(part) for part in default)
    return str(default)


@dataclass(frozen=True)
class Reader:
    """One subsystem's variables read from `source`, each with its default from `defaults`."""

    source: Source
    defaults: Mapping[str, Any]

    def given(self, name: str) -> str | None:
        """The variable's text as given (None when unset); its default is the caller's business."""
        if name not in self.defaults:
            raise KeyError(f"{name} is read but not declared in its subsystem's DEFAULTS")
        return self.source(name)

    def text(self, name: str) -> Any:
        """The text, or the declared default when unset."""
        text = self.given(name)
        return self.defaults[name] if text is None else text

    def whole_number(self, name: str, minimum: int, maximum: int | None = None) -> int:
        """An int within [minimum, maximum]; else one-line `ConfigError`."""
        return whole_number(name, self.given(name), self.defaults[name], minimum, maximum)

    def optional_whole_number(self, name: str, minimum: int) -> int | None:
        """Like `whole_number`, but None (the declared default) when unset."""
        text = self.given(name)
        return None if text is None else whole_number(name, text, 0, minimum)

    def boolean(self, name: str) -> bool:
        text = self.given(name)
        if text is None:
            return bool(self.defaults[name])
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(f"{name}={text!r}: expected true or false")

    def choice(self, name: str, choices: Collection[str]) -> str:
        """One of `choices`, compared in lower case."""
        value = str(self.text(name)).lower()
        if value not in choices:
            raise ConfigError(f"{name}={value!r}: expected {' or '.join(choices)}")
        return value

    def words(self, name: str) -> tuple[str, ...]:
        """A comma-separated list, each part stripped, empty parts dropped."""
        text = self.given(name)
        if text is None:
            return tuple(self.defaults[name])
        return tuple(part.strip() for part in text.split(",") if part.strip())

    def dotted_names(self, name: str) -> frozenset[str]:
        """Comma-separated dotted class names like `myapp.errors.BadInput`."""
        names = self.words(name)
        for dotted in names:
            if not DOTTED_NAME.match(dotted):
                raise ConfigError(f"{name}: {dotted!r} is not a dotted class name like 'myapp.errors.BadInput'")
        return frozenset(names)

    def url(self, name: str, schemes: tuple[str, ...]) -> str | None:
        """A URL with one of `schemes` and a host, or None when unset (its password never shown)."""
        text = self.given(name)
        if text is None:
            return None
        try:
            parts = urlsplit(text)
            valid = parts.scheme in schemes and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            shown = " or ".join(f"{scheme}://" for scheme in schemes)
            raise ConfigError(f"{name}={redact_endpoint(text)!r}: expected a {shown} URL with a host")
        return text


def whole_number(name: str, text: str | None, default: int, minimum: int, maximum: int | None = None) -> int:
    """`text` as an int within [minimum, maximum], `default` when unset; else one-line `ConfigError`."""
    if text is None:
        return default
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or number < minimum or (maximum is not None and number > maximum):
        wanted = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{name}={text!r}: expected a whole number {wanted}")
    return number
