"""Render a dashboard page: autoescaped Jinja, encoded so that no stray character can turn a page
into a server error (a lone surrogate that slipped past the filters becomes `?`)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template


def page(template: str, http_status: int = 200, **context: Any) -> Response:
    html = render_template(f"rq_dlq/{template}", **context)
    return Response(html.encode("utf-8", "replace"), status=http_status, mimetype="text/html")
