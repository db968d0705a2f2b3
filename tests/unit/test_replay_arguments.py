"""The pure parts of fix-and-replay: parsing the operator's JSON, finding a redaction mark given back,
telling a repr shown in the DLQ, and the review page's diff."""

from __future__ import annotations

import pytest

from failure_handlers.operations.replay import _REPR, ReplayError, _json_safe, _redacted_in, parse_arguments
from failure_handlers.web.incident_pages import argument_diff


def test_parse_arguments():
    assert parse_arguments('[1, "a"]', None) == ([1, "a"], None)
    assert parse_arguments(None, '{"limit": 10}') == (None, {"limit": 10})
    with pytest.raises(ReplayError, match=r"^args is not valid JSON \(Expecting value at line 1 column 5\)$"):
        parse_arguments("[1, ", None)
    with pytest.raises(ReplayError, match="^kwargs must be a JSON object"):
        parse_arguments(None, "[1]")
    with pytest.raises(ReplayError, match="^args must be a JSON array"):
        parse_arguments('{"a": 1}', None)


def test_a_redaction_mark_is_found_wherever_it_is():
    assert _redacted_in({"token": "***"}, "kwargs") == "kwargs['token']"
    assert _redacted_in([1, {"auth": ["x", "***"]}], "args") == "args[1]['auth'][1]"
    assert _redacted_in({"note": "*** not a mark ***"}, "kwargs") == ""


@pytest.mark.parametrize(
    ("text", "is_repr"),
    [
        ("Decimal('1.5')", True),
        ("datetime.datetime(2026, 1, 1, 0, 0)", True),
        ("<object object at 0x7f>", True),
        ("b'\\x00'", True),
        ("INV-7", False),
        ("hello (world)", False),
    ],
)
def test_what_reads_like_a_repr(text, is_repr):
    assert bool(_REPR.match(text)) is is_repr


def test_json_safe():
    assert _json_safe([1, "a", None, {"b": [True, 2.5]}])
    assert not _json_safe([b"bytes"]) and not _json_safe({1: "int key"})


def test_argument_diff_marks_stored_and_new_lines():
    diff = argument_diff({"args": [-5], "kwargs": {}}, {"args": [5], "kwargs": {}})
    assert ("-", "    -5") in diff and ("+", "    5") in diff
    assert all(kind in " -+" for kind, _ in diff)
