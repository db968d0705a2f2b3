"""The DLQ web dashboard and its JSON API (Flask): a blueprint to mount in any Flask app, and a
standalone app served by `rq-dlq web` (waitress). Needs the `web` extra (flask, flask-wtf, waitress).

    from failure_handlers.web import create_blueprint
    app.register_blueprint(create_blueprint(), url_prefix="/dlq")

Flask is imported on first use of these names, so `rq-dlq` works where the extra is not installed.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "create_blueprint"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from failure_handlers.web.app import create_app

        return create_app
    if name == "create_blueprint":
        from failure_handlers.web.blueprint import create_blueprint

        return create_blueprint
    raise AttributeError(name)
