"""Turn a failure into bounded, readable text: exception names, messages, tracebacks, arguments.

Everything stored in `job.meta` or the DLQ goes through here, so one hostile job (a 10 MB message,
arguments that cannot be encoded) cannot blow up Redis memory or the failure handler.
"""

from __future__ import annotations

import json
import linecache
import traceback as traceback_module
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from failure_handlers.dlq.text import utf8_text
from failure_handlers.redaction import redact_kwargs
from failure_handlers.retry.policy import qualified_name

MAX_MESSAGE_CHARS = 2_000
MAX_TRACEBACK_CHARS = 8_000
MAX_ARGS_CHARS = 4_000
MAX_REPR_CHARS = 200
TRUNCATION_MARK = "…[truncated {count} chars]…"
_RECURSIVE_CUTOFF = 3  # as `traceback.StackSummary.format` collapses repeated frames


def truncate(text: str, limit: int, keep: str = "head") -> str:
    """Cut `text` to about `limit` characters, saying how much was dropped.

    `keep="tail"` keeps the end (for tracebacks, whose innermost frame and error line come last)
    plus the first line.
    """
    if len(text) <= limit:
        return text
    dropped = len(text) - limit
    mark = TRUNCATION_MARK.format(count=dropped)
    if keep == "tail":
        first_line = text.split("\n", 1)[0][: limit // 4]
        return f"{first_line}\n{mark}\n{text[len(text) - limit + len(first_line) :]}"
    return text[:limit] + mark


# `isoformat(timespec="milliseconds")` of a UTC time with `Z` for `+00:00`, written field by field:
# a third fewer instructions than isoformat and its replace (the failure handler writes two per failure).
_UTC_MILLISECONDS = "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"


def utc_now_iso() -> str:
    return _utc_text(datetime.now(UTC))


def iso(moment: datetime | None) -> str:
    """UTC ISO 8601 for a datetime (RQ stores naive UTC datetimes)."""
    if moment is None:
        return ""
    if moment.tzinfo is not None and moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return _utc_text(moment)


def _utc_text(moment: datetime) -> str:
    """A time in UTC (aware or naive) as `2026-11-29T22:56:47.275Z` (milliseconds cut, as isoformat cuts them)."""
    return _UTC_MILLISECONDS % (
        moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second, moment.microsecond // 1000,
    )  # fmt: skip


def exception_type_name(exc_type: type[BaseException] | None) -> str:
    return qualified_name(exc_type) if exc_type is not None else "UnknownError"


def exception_message(exc_value: BaseException | None) -> str:
    """`str(exc)`, bounded, and never raising (a hostile `__str__` is reported, not propagated)."""
    if exc_value is None:
        return ""
    try:
        text = str(exc_value)
    except Exception as error:  # noqa: BLE001 - any __str__ may fail
        text = f"<str() of the exception failed: {type(error).__name__}>"
    return truncate(utf8_text(text), MAX_MESSAGE_CHARS)


def format_traceback(
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    tb: TracebackType | None,
) -> str:
    """The formatted traceback, bounded (keeps the innermost frames).

    As `traceback.format_exception` prints it, without the `^^^^` lines under each frame: Python 3.11
    finds their columns by parsing every frame's source line with `ast`, over half the cost of
    formatting, paid on every failed attempt. A lone exception (no cause or context shown, not a
    group: nearly every job failure) takes a direct path over the frames, about 4x faster than
    `TracebackException` and equal to its output (tested); chains and groups go through it.
    """
    if exc_type is None:
        return ""
    try:
        if exc_value is not None and _is_lone(exc_value):
            text = _format_lone(exc_value, tb)
        else:
            exception = traceback_module.TracebackException(
                type(exc_value) if exc_value is not None else exc_type,
                exc_value,  # type: ignore[arg-type]  # typeshed: an exception; 3.11 also takes None
                tb,
                compact=True,
            )
            _drop_columns(exception, set())
            text = "".join(exception.format())
    except Exception:  # noqa: BLE001 - formatting walks user objects
        text = f"{exception_type_name(exc_type)}: {exception_message(exc_value)}\n"
    return truncate(utf8_text(text), MAX_TRACEBACK_CHARS, keep="tail")


def _is_lone(exc_value: BaseException) -> bool:
    return (
        exc_value.__cause__ is None
        and (exc_value.__context__ is None or exc_value.__suppress_context__)
        and not isinstance(exc_value, BaseExceptionGroup)
    )


def _format_lone(exc_value: BaseException, tb: TracebackType | None) -> str:
    """`TracebackException(...).format()` of an exception without a chain, with no caret lines."""
    parts = ["Traceback (most recent call last):\n"] if tb is not None else []
    last: tuple[str, int | None, str] | None = None
    repeats = 0
    while tb is not None:  # `traceback.walk_tb`, without its generator
        frame, lineno, tb = tb.tb_frame, tb.tb_lineno, tb.tb_next
        code = frame.f_code
        key = (code.co_filename, lineno, code.co_name)
        if key != last:
            if repeats > _RECURSIVE_CUTOFF:
                parts.append(_repeated(repeats - _RECURSIVE_CUTOFF))
            last, repeats = key, 0
        repeats += 1
        if repeats > _RECURSIVE_CUTOFF:
            continue
        parts.append(f'  File "{code.co_filename}", line {lineno}, in {code.co_name}\n')
        line = linecache.getline(code.co_filename, lineno, frame.f_globals).strip() if lineno else ""
        if line:
            parts.append(f"    {line}\n")
    if repeats > _RECURSIVE_CUTOFF:
        parts.append(_repeated(repeats - _RECURSIVE_CUTOFF))
    parts.append(_exception_line(exc_value))
    return "".join(parts)


def _exception_line(exc_value: BaseException) -> str:
    """`traceback.format_exception_only` of a lone exception, as one string: its `type: message` line
    written here (the stdlib builds a whole `TracebackException` for it, ~37k instructions of every
    failure); a `SyntaxError` or an exception with notes goes through the stdlib."""
    exc_type = type(exc_value)
    if issubclass(exc_type, SyntaxError) or getattr(exc_value, "__notes__", None) is not None:
        return "".join(traceback_module.format_exception_only(exc_type, exc_value))
    name, module = exc_type.__qualname__, exc_type.__module__
    if module not in ("__main__", "builtins"):
        name = f"{module if isinstance(module, str) else '<unknown>'}.{name}"
    try:
        message = str(exc_value)
    except Exception:  # noqa: BLE001 - as the stdlib: any __str__ may fail
        message = "<exception str() failed>"
    return f"{name}: {message}\n" if message else f"{name}\n"


def _repeated(count: int) -> str:
    return f"  [Previous line repeated {count} more time{'s' if count > 1 else ''}]\n"


def _drop_columns(exception: traceback_module.TracebackException, seen: set[int]) -> None:
    """Forget column positions in the whole chain (causes, contexts, groups): no caret lines."""
    if id(exception) in seen:
        return
    seen.add(id(exception))
    for frame in exception.stack:
        frame.colno = frame.end_colno = None
    for nested in (exception.__cause__, exception.__context__, *(getattr(exception, "exceptions", None) or ())):
        if nested is not None:
            _drop_columns(nested, seen)


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace to one line of at most `limit` characters (cut with `…`)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bounded_repr(obj: Any) -> str:
    """A value JSON cannot hold, as its bounded `repr`."""
    try:
        return truncate(repr(obj), MAX_REPR_CHARS)
    except Exception:  # noqa: BLE001 - any __repr__ may fail
        return f"<unrepresentable {type(obj).__name__}>"


# One encoder for every call: `json.dumps` with options builds a new one each time (~8k instructions
# of the failure handler's hot path per call); its `encode` keeps no state between calls.
_ARGUMENTS_JSON = json.JSONEncoder(default=_bounded_repr, ensure_ascii=False)


def safe_json(value: Any, limit: int = MAX_ARGS_CHARS) -> str:
    """JSON text for job arguments: non-JSON values become a bounded `repr`, never an error."""
    try:
        text = _ARGUMENTS_JSON.encode(value)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(_bounded_repr(value))
    return truncate(utf8_text(text), limit)


def job_arguments(
    args: Iterable[Any] | None, kwargs: Mapping[str, Any] | None, secret_keys: Iterable[str]
) -> tuple[str, str]:
    """`(args_json, kwargs_json)` with secret-looking keyword values replaced by `***`."""
    # No arguments of a kind (often no kwargs): their JSON without an encoder's pass
    args_json = safe_json(list(args)) if args else "[]"
    return args_json, safe_json(redact_kwargs(kwargs, secret_keys)) if kwargs else "{}"


def attempt_record(
    attempt: int,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    tb: TracebackType | None,
    worker: str | None,
) -> dict[str, Any]:
    """One entry of `job.meta["failures"]`."""
    return {
        "attempt": attempt,
        "exc_type": exception_type_name(exc_type),
        "message": exception_message(exc_value),
        "traceback": format_traceback(exc_type, exc_value, tb),
        "failed_at": utc_now_iso(),
        "worker": worker or "",
    }
