"""When a failure says itself when to try again: a task's `RetryAfter(seconds)`, or a `requests`
HTTP error whose 429/503 response carries a `Retry-After` header (RFC 9110 §10.2.3: delta-seconds
or an HTTP-date). Pure: the caller passes the clock.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

from failure_handlers.errors import RetryAfter

DEFAULT_RETRY_AFTER_MAX = 3600  # an hour: longer than any sane rate-limit window, short of "forever"
RETRY_AFTER_STATUSES = frozenset({429, 503})  # where RFC 9110 gives Retry-After a meaning for a retry
MAX_HEADER_CHARS = 64  # an HTTP-date is 29 characters; anything longer is garbage


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a `Retry-After` header value; None when it is missing or unusable.

    Delta-seconds must be a non-negative whole number ("120"); a date in the past means 0.
    Negative numbers, fractions and garbage are ignored (the planned delay applies).
    """
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > MAX_HEADER_CHARS:
        return None
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # RFC 9110 dates are GMT; parsedate gives naive for "-0000"
        moment = moment.replace(tzinfo=UTC)
    return max((moment - now).total_seconds(), 0.0)


def requested_delay(exc_value: BaseException | None, maximum: int, now: datetime) -> tuple[int, str] | None:
    """`(seconds, source)` when the failure asks for its own delay, bounded to `maximum`; else None.

    Whole seconds, rounded up (never sooner than asked); `source` says where it came from, for the
    log line and the attempt record.
    """
    if isinstance(exc_value, RetryAfter):
        seconds, source = exc_value.seconds, f"{type(exc_value).__name__} raised by the task"
    else:
        status, header = _http_retry_after(exc_value)
        if header is None:
            return None
        delay = parse_retry_after(header, now)
        if delay is None:
            return None
        seconds, source = delay, f"Retry-After of HTTP {status}"
    if math.isnan(seconds) or seconds < 0:
        seconds = 0.0
    return int(min(math.ceil(seconds) if math.isfinite(seconds) else maximum, maximum)), source


def _http_retry_after(exc_value: BaseException | None) -> tuple[int | None, str | None]:
    if not isinstance(exc_value, requests.HTTPError):
        return None, None
    response = exc_value.response
    if response is None:
        return None, None
    status = getattr(response, "status_code", None)
    if status not in RETRY_AFTER_STATUSES:
        return status, None
    try:
        header = response.headers.get("Retry-After")
    except Exception:  # noqa: BLE001 - a response object built by hand may lack headers
        return status, None
    return status, header if isinstance(header, str) else None
