"""The standalone dashboard application (what `rq-dlq web` serves): the blueprint at `/`, a
secret key, hardened session cookies, and JSON or plain errors for URLs no route matches."""

from __future__ import annotations

import secrets

from flask import Flask, Response, jsonify, request
from redis import Redis
from werkzeug.exceptions import HTTPException

from failure_handlers import runtime
from failure_handlers.config import Settings
from failure_handlers.web import security
from failure_handlers.web.blueprint import create_blueprint

MAX_BODY_BYTES = 16 * 1024 * 1024  # an API body of 100,000 ids is about 4 MB


def create_app(settings: Settings | None = None, connection: Redis | None = None, url_prefix: str = "") -> Flask:
    settings = settings or runtime.settings()
    app = Flask(__name__, static_folder=None)  # the blueprint serves its own static files, behind its checks
    # Without DASHBOARD_SECRET_KEY a random key: forms open across a restart must be reloaded.
    app.secret_key = settings.dashboard.secret_key or secrets.token_hex(32)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_NAME="rq_dlq_session",
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
    )
    app.register_blueprint(create_blueprint(settings, connection), url_prefix=url_prefix or None)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        """Errors raised before a route runs (404 no such URL, 405 wrong method, 413 too large)."""
        response = jsonify({"error": error.description, "status": error.code})
        if "/api/" not in request.path and request.accept_mimetypes.best != "application/json":
            response = Response(f"{error.code} {error.name}: {error.description}\n", mimetype="text/plain")
        response.status_code = error.code or 500
        for name, value in error.get_headers():
            if name.lower() == "allow":
                response.headers[name] = value
        return security.add_headers(response)

    return app
