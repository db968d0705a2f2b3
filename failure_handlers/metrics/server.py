"""Serving `/metrics`: a WSGI app for any host (the dashboard mounts it) and `rq-dlq metrics`.

`wsgi_app()` is Flask-independent: a plain WSGI callable over its own CollectorRegistry, so it
can be mounted with werkzeug's DispatcherMiddleware or called from a Flask view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, generate_latest, make_wsgi_app
from prometheus_client.exposition import CONTENT_TYPE_LATEST, ThreadingWSGIServer
from redis import Redis

from failure_handlers import runtime
from failure_handlers.config import Settings
from failure_handlers.metrics.collector import DlqCollector

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9121


def registry(connection: Redis | None = None, settings: Settings | None = None) -> CollectorRegistry:
    """A registry holding only our collector (no process metrics of the host app)."""
    settings = settings or runtime.settings()
    connection = connection or runtime.default_connection()
    collectors = CollectorRegistry(auto_describe=False)
    collectors.register(DlqCollector(connection, settings.dlq, settings.metrics))
    return collectors


def wsgi_app(connection: Redis | None = None, settings: Settings | None = None) -> WsgiApp:
    """The exposition as a WSGI app: mount it at `/metrics`. Defaults: this process's settings and
    a connection to its `REDIS_URL` (made now: a bad URL fails at start-up, not at the first scrape)."""
    return make_wsgi_app(registry(connection, settings))


def exposition(collectors: CollectorRegistry) -> tuple[bytes, str]:
    """The body and content type of one scrape (for hosts that prefer a view to a WSGI mount)."""
    return generate_latest(collectors), CONTENT_TYPE_LATEST


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """No access log per scrape."""


def serve(host: str, port: int, app: WsgiApp) -> None:
    """Serve `app` at http://host:port/ until interrupted (a thread per scrape)."""
    server = make_server(host, port, app, ThreadingWSGIServer, handler_class=_QuietHandler)
    try:
        server.serve_forever()
    finally:
        server.server_close()
