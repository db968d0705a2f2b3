"""Retry-After parsing and bounding (failure_handlers/retry/retry_after.py), without Redis or network."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests

from failure_handlers.errors import RetryAfter
from failure_handlers.retry.retry_after import parse_retry_after, requested_delay

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def http_error(status: int, retry_after: str | None) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return requests.HTTPError(f"{status} error", response=response)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), (" 2 ", 2.0), ("0", 0.0), ("99999999999999999999", 1e20),
     (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
     ("Mon, 23 Nov 2026 12:00:30 GMT", 30.0),
     (format_datetime(NOW - timedelta(hours=1), usegmt=True), 0.0),
     (None, None), ("", None), ("-5", None), ("1.5", None), ("soon", None), ("²", None), ("9" * 100, None),
     ("Mon, 99 Foo 2026 99:99:99 GMT", None)],
)  # fmt: skip
def test_header_values(value, expected):
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_on_429_and_503_sets_the_delay(status):
    assert requested_delay(http_error(status, "7"), 3600, NOW) == (7, f"Retry-After of HTTP {status}")


@pytest.mark.parametrize("status", [500, 502, 404, 301])
def test_retry_after_on_other_statuses_is_ignored(status):
    assert requested_delay(http_error(status, "7"), 3600, NOW) is None


def test_huge_retry_after_is_bounded_by_the_maximum():
    assert requested_delay(http_error(429, "99999999999"), 3600, NOW) == (3600, "Retry-After of HTTP 429")


def test_garbage_or_missing_header_means_no_requested_delay():
    assert requested_delay(http_error(429, "later please"), 3600, NOW) is None
    assert requested_delay(http_error(429, None), 3600, NOW) is None
    assert requested_delay(ConnectionError("x"), 3600, NOW) is None


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(5, 5), (2.1, 3), (-3, 0), (float("nan"), 0), (float("inf"), 60), (10**9, 60), ("soon", 0)],
)
def test_retry_after_raised_by_a_task(seconds, expected):
    assert requested_delay(RetryAfter(seconds), 60, NOW) == (expected, "RetryAfter raised by the task")


def test_an_open_circuit_asks_for_its_own_delay_and_a_busy_key_keeps_the_plan():
    from failure_handlers.errors import CircuitOpen, IdempotencyKeyBusy

    assert requested_delay(CircuitOpen("payments-api", 12.2), 60, NOW) == (13, "CircuitOpen raised by the task")
    assert requested_delay(CircuitOpen("payments-api", 900), 60, NOW) == (60, "CircuitOpen raised by the task")
    assert requested_delay(IdempotencyKeyBusy("invoice:42", 900), 60, NOW) is None
