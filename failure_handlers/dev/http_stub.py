"""A local HTTP service that is down (503) or up (200) on demand and counts every request it gets
(for `make demo` and the circuit-breaker tests)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StubService:
    """`healthy=False`: every request gets 503; `True`: 200 `ok`. `requests` counts both."""

    def __init__(self) -> None:
        self.healthy = False
        self.requests = 0
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                with stub._lock:
                    stub.requests += 1
                status = 200 if stub.healthy else 503
                self.send_response(status)
                self.send_header("Content-Length", "2" if status == 200 else "0")
                self.end_headers()
                if status == 200:
                    self.wfile.write(b"ok")

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                """quiet"""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[ThreadingHTTPServer]:
    """`server` answering from a background thread; shut down and closed at the end."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def stub_service() -> Iterator[StubService]:
    """A running `StubService` (down at first), stopped at the end."""
    stub = StubService()
    with serving(stub.server):
        yield stub
