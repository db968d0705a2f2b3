"""Real local receivers for the alert tests: an HTTP webhook receiver (http.server in a thread), one
that hangs, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebhookReceiver:
    """Records every POST (path, JSON body); `hang` makes it accept and never answer until closed."""

    def __init__(self, port: int | None = None, hang: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                if hang:
                    receiver.release.wait(60)  # a receiver that never answers in time
                    return
                receiver.paths.append(self.path)
                receiver.bodies.append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """quiet"""

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hooks/T000/SECRET-PATH") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def webhook_receiver(port: int | None = None, hang: bool = False) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(port, hang)
    try:
        yield receiver
    finally:
        receiver.close()


class _Collect:
    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.logins: _Logins | None = None
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.content)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"


class _Logins:
    """aiosmtpd authenticator accepting one user and password; records who logged in."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password, self.seen = user.encode(), password.encode(), []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (self.user, self.password)
        over_tls = server.transport.get_extra_info("ssl_object") is not None  # STARTTLS or implicit TLS
        self.seen.append((data.login.decode(), ok, over_tls))
        return AuthResult(success=ok)


@contextmanager
def smtp_server(
    tls: ssl.SSLContext | None = None,
    mode: str = "plain",
    login: tuple[str, str] | None = None,
) -> Iterator[_Collect]:
    """A real SMTP server on a free loopback port; yields it: `.port`, `.messages` (recipients,
    email.message) and `.logins` (user, accepted, over TLS).

    `mode="starttls"` requires STARTTLS with `tls` before anything else; `mode="smtps"` speaks TLS
    from the first byte. `login=(user, password)` requires AUTH (over TLS only); the logins seen are
    recorded.
    """
    handler = _Collect()
    port = handler.port = free_port()
    options: dict[str, Any] = {}
    if mode == "starttls":
        options = {"tls_context": tls, "require_starttls": True}
    elif mode == "smtps":
        # aiosmtpd 1.4 does not count implicit TLS as TLS for AUTH: the transport is TLS all the same
        options = {"ssl_context": tls, "auth_require_tls": False}
    if login:
        options["authenticator"] = handler.logins = _Logins(*login)
        options["auth_required"] = True
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()
