"""Who may do what, checked on the server for every request before any route runs.

- Pages and API reads: HTTP Basic (`DASHBOARD_AUTH=user:password`) when set; API reads also accept
  the API token. Missing credentials: 401 with a challenge. Wrong ones: 401 on pages (so a
  browser asks again) and 403 on the API.
- API writes: `Authorization: Bearer <DASHBOARD_API_TOKEN>`; without a configured token the API
  cannot write at all (403). Missing: 401; wrong: 403.
- Page actions (every POST outside the API): not read-only (403), same origin by `Origin` /
  `Referer` / `Sec-Fetch-Site` (403), and a valid Flask-WTF CSRF token (400).
- `DASHBOARD_READ_ONLY=true`: every action is refused with 403, API and pages alike.

Secrets are compared with `hmac.compare_digest`, and never echoed in a response or a log.
Every response of the blueprint carries a Content-Security-Policy without inline scripts.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Response, request
from flask_wtf.csrf import ValidationError, validate_csrf

from failure_handlers.web.errors import BASIC_CHALLENGE, BEARER_CHALLENGE, WebError
from failure_handlers.web.settings import DashboardSettings

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CSRF_FIELD = "csrf_token"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of two secrets (as UTF-8 bytes)."""
    return hmac.compare_digest((given or "").encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def check(settings: DashboardSettings, is_api: bool) -> None:
    """Raise `WebError` unless this request may proceed (see the module docstring)."""
    writes = request.method not in SAFE_METHODS
    if is_api and writes:
        _require_token(settings)
    elif is_api:
        _require_reader(settings, accept_token=True)
    else:
        _require_reader(settings, accept_token=False)
    if writes:
        if settings.read_only:
            raise WebError(403, "the dashboard is read-only (DASHBOARD_READ_ONLY=true): no action is allowed")
        if not is_api:
            _require_same_origin()
            _require_csrf_token()


def _require_reader(settings: DashboardSettings, accept_token: bool) -> None:
    if settings.auth is None:
        return
    auth = request.authorization
    if auth is None:
        raise WebError(401, "authentication required (HTTP Basic, DASHBOARD_AUTH)", challenge=BASIC_CHALLENGE)
    if auth.type == "bearer" and accept_token and settings.api_token:
        if same_secret(auth.token, settings.api_token):
            return
    elif auth.type == "basic":
        user, password = settings.auth
        user_ok = same_secret(auth.username, user)
        password_ok = same_secret(auth.password, password)
        if user_ok and password_ok:
            return
    if accept_token:  # the API: credentials were given and are wrong
        raise WebError(403, "wrong credentials")
    raise WebError(401, "wrong user or password", challenge=BASIC_CHALLENGE)


def _require_token(settings: DashboardSettings) -> None:
    if not settings.api_token:
        raise WebError(403, "API writes are disabled: set DASHBOARD_API_TOKEN to enable them")
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        raise WebError(401, "API writes need Authorization: Bearer <DASHBOARD_API_TOKEN>", challenge=BEARER_CHALLENGE)
    if not same_secret(auth.token, settings.api_token):
        raise WebError(403, "wrong API token")


def _require_same_origin() -> None:
    """A page action must come from a page of this very host (defence in depth beside CSRF)."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise WebError(403, "cross-origin request refused")
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        raise WebError(403, "cross-origin request refused: no Origin or Referer header")
    if urlsplit(source).netloc.lower() != request.host.lower():
        raise WebError(403, "cross-origin request refused")


def _require_csrf_token() -> None:
    try:
        validate_csrf(request.form.get(CSRF_FIELD))
    except ValidationError as error:
        raise WebError(400, f"{error} Reload the page and try again.") from None


def add_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
