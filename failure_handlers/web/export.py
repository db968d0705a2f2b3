"""Export every entry matching a filter as CSV or JSON, streamed.

The matching ids are fixed first (one consistent list, ~100 bytes each), then entries are read
`EXPORT_BATCH` at a time and written out as they come: memory holds the id list and one batch,
never the whole export. CSV cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`,
tab, CR) are prefixed with `'`: job text is hostile.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator

from flask import Response, stream_with_context

from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.web.params import Selection

EXPORT_BATCH = 500
CSV_FIELDS = (
    "job_id", "queue", "func_name", "exc_type", "exc_message", "fingerprint", "origin", "attempts",
    "max_retries", "reason", "enqueued_at", "failed_at", "worker", "args", "kwargs",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_response(dlq: DeadLetterQueue, selection: Selection) -> Response:
    return _response(_csv_rows(dlq, selection), "text/csv; charset=utf-8", "csv")


def json_response(dlq: DeadLetterQueue, selection: Selection) -> Response:
    return _response(_json_items(dlq, selection), "application/json", "json")


def entries(dlq: DeadLetterQueue, selection: Selection) -> Iterator[DeadLetterEntry]:
    """Every matching entry, newest first, one batch in memory at a time."""
    ids = dlq.select_ids(selection.filters, newest_first=True)
    for start in range(0, len(ids), EXPORT_BATCH):
        yield from (entry for entry in dlq.get_many(ids[start : start + EXPORT_BATCH]) if entry is not None)


def safe_cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_rows(dlq: DeadLetterQueue, selection: Selection) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for entry in entries(dlq, selection):
        writer.writerow([safe_cell(getattr(entry, name)) for name in CSV_FIELDS])
        if buffer.tell() > 64_000:
            yield _drain(buffer)
    yield _drain(buffer)


def _json_items(dlq: DeadLetterQueue, selection: Selection) -> Iterator[str]:
    yield '{"filter": ' + json.dumps(selection.raw) + ', "entries": [\n'
    separator = ""
    for entry in entries(dlq, selection):
        yield separator + json.dumps(entry.as_json())  # ASCII: lone surrogates stay escaped
        separator = ",\n"
    yield "\n]}\n"


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _response(chunks: Iterator[str], mimetype: str, suffix: str) -> Response:
    name = time.strftime("dlq-export-%Y%m%dT%H%M%SZ", time.gmtime())
    encoded = (chunk.encode("utf-8", "replace") for chunk in chunks)
    return Response(
        stream_with_context(encoded),
        content_type=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}.{suffix}"'},
    )
