"""The direct traceback formatter equals `TracebackException`'s output (without caret lines)."""

from __future__ import annotations

import sys
import traceback

import pytest

from failure_handlers.dlq.text import utf8_text
from failure_handlers.recording import failure_record
from failure_handlers.recording.failure_record import format_traceback


def _reference(exc_info) -> str:
    exception = traceback.TracebackException(*exc_info, compact=True)
    failure_record._drop_columns(exception, set())
    return "".join(exception.format())


def _deep(n: int) -> None:
    if n == 0:
        raise ConnectionError("upstream down")
    _deep(n - 1)


def _recurse(n: int) -> None:
    _recurse(n + 1)


def _with_note() -> None:
    error = ValueError("bad amount")
    error.add_note("while importing invoice 7")
    raise error


def _syntax() -> None:
    compile("def broken(:\n", "<job>", "exec")


def _from_exec() -> None:
    exec("raise KeyError('sku')")  # a frame without a source file


def _suppressed() -> None:
    try:
        raise KeyError("inner")
    except KeyError:
        raise RuntimeError("outer") from None


def _multiline_message() -> None:
    raise RuntimeError("line one\nline two\n\ttabbed")


def _unprintable() -> None:
    class Unprintable(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no")

    raise Unprintable()


def _no_message() -> None:
    raise TimeoutError


CASES = {
    "nested frames": lambda: _deep(6),
    "recursion collapsed": lambda: _recurse(0),
    "notes": _with_note,
    "syntax error": _syntax,
    "frame without source": _from_exec,
    "context suppressed": _suppressed,
    "multi-line message": _multiline_message,
    "unprintable message": _unprintable,
    "no message": _no_message,
}


@pytest.mark.parametrize("case", CASES)
def test_direct_path_matches_traceback_exception(case):
    try:
        CASES[case]()
    except BaseException:  # noqa: BLE001
        exc_info = sys.exc_info()
    assert failure_record._is_lone(exc_info[1])
    expected = failure_record.truncate(utf8_text(_reference(exc_info)), 8_000, keep="tail")
    assert format_traceback(*exc_info) == expected
    assert "^^^" not in format_traceback(*exc_info)


def test_chained_exceptions_keep_both_parts():
    try:
        try:
            raise KeyError("sku")
        except KeyError as error:
            raise ValueError("bad line") from error
    except ValueError:
        exc_info = sys.exc_info()
    text = format_traceback(*exc_info)
    assert not failure_record._is_lone(exc_info[1])
    assert "KeyError: 'sku'" in text and "direct cause" in text and text.rstrip().endswith("ValueError: bad line")
