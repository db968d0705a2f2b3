import pytest

from failure_handlers.dlq.filters import DlqFilter, parse_duration, parse_time

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("7d", 604800), ("1w", 604800), ("30", 30)]
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "2 hours", "h", "-5m", "1y"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_relative_time_is_before_now():
    assert parse_time("2h", NOW) == NOW - 7200


def test_iso_time_naive_is_utc():
    assert parse_time("2027-01-15T08:00:00", NOW) == parse_time("2027-01-15T08:00:00Z", NOW)
    assert parse_time("2027-01-15T09:00:00+01:00", NOW) == parse_time("2027-01-15T08:00:00Z", NOW)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "12:00pm"])
def test_bad_times_say_what_is_accepted(text):
    with pytest.raises(ValueError, match="ISO time"):
        parse_time(text, NOW)


def test_filter_matches_every_given_field():
    values = {"queue": "default", "func": "tasks.a", "exc": "KeyError", "group": "abc", "message": "Missing SKU 42"}
    assert DlqFilter().matches(values) and DlqFilter().is_empty()
    assert DlqFilter(queue="default", exc="KeyError").matches(values)
    assert not DlqFilter(queue="default", exc="ValueError").matches(values)
    assert DlqFilter(search="sku").matches(values)
    assert not DlqFilter(search="price").matches(values)
    assert DlqFilter(func="tasks.a", group="abc").equalities() == {"func": "tasks.a", "group": "abc"}
