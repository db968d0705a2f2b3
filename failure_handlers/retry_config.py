"""The retry-policy variables (issue 12): RETRY_BACKOFF, RETRY_BACKOFF_BASE, RETRY_BACKOFF_CAP,
RETRY_JITTER, RETRY_AFTER_MAX, PERMANENT_MESSAGE_PATTERNS, RETRYABLE_MESSAGE_PATTERNS.

Parsed here for `config.parse_settings` (which stays the one place that reads the configuration);
a bad value raises `ConfigError` naming the variable, on one line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from failure_handlers.errors import ConfigError
from failure_handlers.retry.backoff import (
    BACKOFF_KINDS,
    DEFAULT_BACKOFF,
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    Jitter,
    parse_jitter,
)
from failure_handlers.retry.retry_after import DEFAULT_RETRY_AFTER_MAX
from failure_handlers.retry.rules import parse_patterns
from failure_handlers.setting_values import whole_number


def retry_settings(get: Callable[[str], str | None]) -> dict[str, Any]:
    """The `Settings` fields of the retry policy, from `get(variable) -> text or None`."""
    kind = (get("RETRY_BACKOFF") or DEFAULT_BACKOFF).lower()
    if kind not in BACKOFF_KINDS:
        raise ConfigError(f"RETRY_BACKOFF={kind!r}: expected {' or '.join(BACKOFF_KINDS)}")
    base = whole_number("RETRY_BACKOFF_BASE", get("RETRY_BACKOFF_BASE"), DEFAULT_BACKOFF_BASE, minimum=1)
    cap = whole_number("RETRY_BACKOFF_CAP", get("RETRY_BACKOFF_CAP"), DEFAULT_BACKOFF_CAP, minimum=1)
    if cap < base:
        raise ConfigError(f"RETRY_BACKOFF_CAP={cap}: must be >= RETRY_BACKOFF_BASE ({base})")
    return {
        "retry_backoff": kind,
        "retry_backoff_base": base,
        "retry_backoff_cap": cap,
        "retry_jitter": _jitter(get("RETRY_JITTER")),
        "retry_after_max": whole_number("RETRY_AFTER_MAX", get("RETRY_AFTER_MAX"), DEFAULT_RETRY_AFTER_MAX, minimum=1),
        "permanent_message_patterns": _patterns("PERMANENT_MESSAGE_PATTERNS", get),
        "retryable_message_patterns": _patterns("RETRYABLE_MESSAGE_PATTERNS", get),
    }


def _jitter(text: str | None) -> Jitter:
    try:
        return parse_jitter(text or "none")
    except ValueError as error:
        raise ConfigError(f"RETRY_JITTER={text!r}: {error}") from None


def _patterns(name: str, get: Callable[[str], str | None]) -> tuple[re.Pattern[str], ...]:
    try:
        return parse_patterns(get(name))
    except ValueError as error:
        message = " ".join(str(error).split())  # one line, even for a pattern with a newline in it
        raise ConfigError(f"{name}: {message}") from None
