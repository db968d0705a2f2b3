import json
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from failure_handlers.recording.failure_record import (
    MAX_MESSAGE_CHARS,
    MAX_TRACEBACK_CHARS,
    attempt_record,
    exception_message,
    format_traceback,
    iso,
    job_arguments,
    one_line,
    safe_json,
    truncate,
    utc_now_iso,
)
from failure_handlers.redaction import redact_kwargs, redact_url


def test_truncate_marks_what_it_dropped():
    text = truncate("x" * 100, 10)
    assert text.startswith("x" * 10) and "truncated 90 chars" in text


def test_truncate_tail_keeps_first_line_and_end():
    text = truncate("Traceback (most recent call last):\n" + "frame\n" * 1000 + "ValueError: boom", 200, keep="tail")
    assert text.startswith("Traceback") and text.endswith("ValueError: boom") and "truncated" in text


def test_short_text_is_untouched():
    assert truncate("short", 10) == "short"


def test_huge_message_is_bounded():
    message = exception_message(ValueError("m" * 10_000_000))
    assert len(message) < MAX_MESSAGE_CHARS + 100


def test_message_of_exception_whose_str_raises():
    class Hostile(Exception):
        def __str__(self):
            raise RuntimeError("no")

    assert "failed" in exception_message(Hostile())


def test_traceback_is_formatted_and_bounded():
    def recurse(depth):
        if depth == 0:
            raise ValueError("deep")
        recurse(depth - 1)

    try:
        recurse(500)
    except ValueError:
        text = format_traceback(*sys.exc_info())
    assert len(text) <= MAX_TRACEBACK_CHARS + 200
    assert text.rstrip().endswith("ValueError: deep")


def test_safe_json_encodes_what_json_cannot():
    text = safe_json([1, "two", object(), {3, 4}])
    decoded = json.loads(text)
    assert decoded[:2] == [1, "two"] and decoded[2].startswith("<object object")


def test_safe_json_survives_hostile_repr():
    class Hostile:
        def __repr__(self):
            raise RuntimeError("no")

    assert "unrepresentable Hostile" in safe_json([Hostile()])


def test_job_arguments_redact_secret_kwargs():
    args, kwargs = job_arguments([1], {"user": "ann", "api_key": "k", "DB_PASSWORD": "p"}, ("password", "api_key"))
    assert json.loads(args) == [1]
    assert json.loads(kwargs) == {"user": "ann", "api_key": "***", "DB_PASSWORD": "***"}


def test_redact_kwargs_leaves_others_alone():
    assert redact_kwargs({"token": "t", "n": 1}, ["token"]) == {"token": "***", "n": 1}


def test_attempt_record_fields():
    try:
        raise KeyError("sku")
    except KeyError:
        record = attempt_record(2, *sys.exc_info(), worker="w1")
    assert record["attempt"] == 2 and record["exc_type"] == "KeyError" and record["worker"] == "w1"
    assert "KeyError" in record["traceback"] and record["failed_at"].endswith("Z")


def test_one_line_collapses_and_cuts():
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 50, 10) == "x" * 9 + "…"


def test_redact_url_hides_password_keeps_user():
    assert redact_url("redis://user:s3cret@host:6379/1") == "redis://user:***@host:6379/1"
    assert redact_url("rediss://:s3cret@host:6380") == "rediss://:***@host:6380"
    assert redact_url("redis://host:6379") == "redis://host:6379"
    assert redact_url(None) == "(unset)"
    assert "s3cret" not in redact_url("redis://:s3cret@host:notaport")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 11, 29, 22, 56, 47, 275999),  # naive: RQ's UTC
        datetime(2026, 11, 29, 22, 56, 47, 999, tzinfo=UTC),
        datetime(2026, 11, 29, 23, 56, 47, 275000, tzinfo=timezone(timedelta(hours=1))),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
    ],
)
def test_iso_is_isoformat_in_utc_with_milliseconds_cut_and_z(moment):
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    expected = aware.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert iso(moment) == expected


def test_utc_now_iso_reads_back_as_now():
    before = datetime.now(UTC).replace(microsecond=0)
    stamp = utc_now_iso()
    assert stamp.endswith("Z") and len(stamp) == 24
    assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= datetime.now(UTC)
