"""Prometheus metrics: counters the failure handler keeps in Redis (`counters.py`), and a collector
that reads them and the DLQ's and RQ's own state at scrape time (`collector.py`, `server.py`).

For the dashboard (or any WSGI host): mount `failure_handlers.metrics.wsgi_app()` at `/metrics`.
prometheus_client is imported only there, never in a worker.
"""

from __future__ import annotations

from typing import Any


def wsgi_app(*args: Any, **kwargs: Any) -> Any:
    """A WSGI app serving the exposition (see `server.wsgi_app`)."""
    from failure_handlers.metrics.server import wsgi_app as make

    return make(*args, **kwargs)


__all__ = ["wsgi_app"]
