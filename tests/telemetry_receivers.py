"""Local receivers for the real SDKs: Sentry's envelopes and OTLP/HTTP traces, decoded; and a black
hole (a listening socket that never answers) for a Sentry that is down."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from failure_handlers.dev.http_stub import serving


class Received:
    """Decoded requests, thread-safe."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def add(self, items: list[dict[str, Any]]) -> None:
        with self.lock:
            self.items.extend(items)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        with self.lock:
            return [item["payload"] for item in self.items if item["type"] == kind]


def decode_envelope(body: bytes) -> list[dict[str, Any]]:
    """Sentry's envelope format: a header line, then items (a header line with `type` and an optional
    `length`, then the payload)."""
    items: list[dict[str, Any]] = []
    _, _, rest = body.partition(b"\n")
    while rest.strip():
        header_line, _, rest = rest.partition(b"\n")
        header = json.loads(header_line)
        if "length" in header:
            payload, rest = rest[: header["length"]], rest[header["length"] + 1 :]
        else:
            payload, _, rest = rest.partition(b"\n")
        try:
            decoded: Any = json.loads(payload)
        except ValueError:
            decoded = payload
        items.append({"type": header.get("type"), "payload": decoded})
    return items


def _body(handler: BaseHTTPRequestHandler) -> bytes:
    data = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    encoding = handler.headers.get("Content-Encoding", "")
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    return data


def _server(received: Received, decode: Any) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            received.add(decode(self.path, _body(self)))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            """quiet"""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    return server


@contextmanager
def sentry_receiver() -> Iterator[tuple[str, Received]]:
    """(a DSN posting to a local receiver, what it received)."""
    received = Received()
    server = _server(received, lambda path, body: decode_envelope(body) if path.endswith("/envelope/") else [])
    with serving(server):
        yield f"http://public@127.0.0.1:{server.server_address[1]}/1", received


def decode_otlp_traces(body: bytes) -> list[dict[str, Any]]:
    """An OTLP/HTTP protobuf ExportTraceServiceRequest, as one item per span."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource in request.resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                spans.append(
                    {
                        "type": "span",
                        "payload": {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "events": [event.name for event in span.events],
                            "status": span.status.code,
                        },
                    }
                )
    return spans


@contextmanager
def otlp_receiver() -> Iterator[tuple[str, Received]]:
    """(an OTLP/HTTP traces endpoint, the spans it received)."""
    received = Received()
    server = _server(received, lambda path, body: decode_otlp_traces(body) if path == "/v1/traces" else [])
    with serving(server):
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/traces", received


@contextmanager
def black_hole() -> Iterator[str]:
    """A DSN whose server accepts connections and never answers (a Sentry that hangs)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(100)
    try:
        yield f"http://public@127.0.0.1:{sock.getsockname()[1]}/1"
    finally:
        sock.close()
