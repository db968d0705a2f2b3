"""Errors of the dashboard: one exception carrying the HTTP status, shown as JSON under `/api/`
and as a page elsewhere; Redis failures become 503 with the URL's password redacted."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, render_template, request

BASIC_CHALLENGE = 'Basic realm="rq-dlq dashboard", charset="UTF-8"'
BEARER_CHALLENGE = 'Bearer realm="rq-dlq dashboard API"'


class WebError(Exception):
    """An error a client caused (4xx) or that it should retry (503); `extra` goes into the JSON."""

    def __init__(self, status: int, message: str, challenge: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.challenge = challenge  # WWW-Authenticate value for 401
        self.extra = extra


def wants_json() -> bool:
    """API requests (the nested `api` blueprint) get JSON errors; pages get an HTML page."""
    return bool(request.blueprint and request.blueprint.endswith(".api")) or (
        request.accept_mimetypes.best == "application/json"
    )


def error_response(error: WebError) -> Response:
    if wants_json():
        response = jsonify({"error": error.message, "status": error.status, **error.extra})
    else:
        response = Response(
            render_template("rq_dlq/error.html", status=error.status, message=error.message, extra=error.extra),
            mimetype="text/html",
        )
    response.status_code = error.status
    if error.challenge:
        response.headers["WWW-Authenticate"] = error.challenge
    if error.status == 405:
        response.headers["Allow"] = "POST"
    return response
