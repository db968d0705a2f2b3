"""Keep secrets out of logs and output: Redis URL passwords and secret-looking keyword arguments."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"


def redact_url(url: str | None) -> str:
    """Return `url` with any password replaced by `***` (the username is kept)."""
    if not url:
        return "(unset)"
    try:
        parts = urlsplit(url)
        if not parts.password:
            return url
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(unparseable URL)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:{REDACTED}@{host}"
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact_kwargs(kwargs: Mapping[str, Any], secret_keys: Iterable[str]) -> dict[str, Any]:
    """Copy `kwargs`, replacing values whose key contains any of `secret_keys` (case-insensitive)."""
    keys = [key.lower() for key in secret_keys]
    return {
        name: REDACTED if any(key in str(name).lower() for key in keys) else value for name, value in kwargs.items()
    }
