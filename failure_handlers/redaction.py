"""Keep secrets out of logs and output: URL passwords, secret URLs (webhooks), secret-looking keyword arguments."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

REDACTED = "***"


def redact_url(url: str | None) -> str:
    """Return `url` with any password replaced by `***` (the username is kept): the one in the user
    part, and the value of every query parameter whose name contains "password" (a Sentinel URL's
    `sentinel_password=`, redis-py's `password=`). A netloc with several hosts is kept as it is."""
    if not url:
        return "(unset)"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}:{REDACTED}@{hosts}" if at and ":" in userinfo else parts.netloc
    query = _PASSWORD_PARAMETER.sub(rf"\1{REDACTED}", parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


_PASSWORD_PARAMETER = re.compile(r"(?i)((?:^|&)[^=&]*password[^=&]*=)[^&]*")


def _address(parts: SplitResult) -> str:
    """`host[:port]` of a split URL, IPv6 hosts in brackets; raises ValueError on a bad port."""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return host + (f":{parts.port}" if parts.port is not None else "")


def redact_kwargs(kwargs: Mapping[str, Any], secret_keys: Iterable[str]) -> dict[str, Any]:
    """Copy `kwargs`, replacing values whose key contains any of `secret_keys` (case-insensitive)."""
    keys = [key.lower() for key in secret_keys]
    return {
        name: REDACTED if any(key in str(name).lower() for key in keys) else value for name, value in kwargs.items()
    }


_URL_WITH_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):[^@\s/]+@")
_PASSWORD_IN_TEXT = re.compile(r"(?i)([?&][^=&\s]*password[^=&\s]*=)[^&\s]+")  # a URL's ...password= parameter


def redact_endpoint(url: str | None) -> str:
    """A URL that is itself a secret (a Slack webhook's path, a token in the query): only the scheme,
    host and port are kept, `https://hooks.example.com/***`; a password is `***` too."""
    if not url:
        return "(unset)"
    try:
        parts = urlsplit(url)
        address = _address(parts)
    except ValueError:
        return "(unparseable URL)"
    user = f"{parts.username}:{REDACTED}@" if parts.username and parts.password else ""
    netloc = user + address
    hidden = "/" + REDACTED if (parts.path not in ("", "/") or parts.query) else ""
    return f"{parts.scheme}://{netloc}{hidden}"


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with every URL password and every one of `secrets` (non-empty strings) as `***`."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _URL_WITH_PASSWORD.sub(rf"\1:{REDACTED}@", text)
    return _PASSWORD_IN_TEXT.sub(rf"\1{REDACTED}", text)
