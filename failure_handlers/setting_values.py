"""Reading one numeric configuration value: the single rule every `*_settings` parser uses.

Separate from `config.py` so the parsers it calls (retry, circuits, archive) can use it without a
circular import.
"""

from __future__ import annotations

from failure_handlers.errors import ConfigError


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
