"""Who may do what, checked on the server for every request before any route runs.

- Pages and API reads: HTTP Basic when users are configured (`DASHBOARD_AUTH=user:password`, an
  admin; or DASHBOARD_USERS_FILE / DASHBOARD_USERS, each user with a role); API reads also accept
  an API token. Missing credentials: 401 with a challenge. Wrong ones: 401 on pages (so a
  browser asks again) and 403 on the API.
- API writes: `Authorization: Bearer <token>` (DASHBOARD_API_TOKEN, an admin, or a named token with
  its role); without any configured token the API cannot write at all (403). Missing: 401; wrong: 403.
- Every write needs a role that may act (a viewer: 403, before anything else is looked at); each
  route then asks `require(action)` for its own action (`roles.py`: delete needs an admin).
- Page actions (every POST outside the API): same origin by `Origin` / `Referer` /
  `Sec-Fetch-Site` (403), and a valid Flask-WTF CSRF token (400).
- `DASHBOARD_READ_ONLY=true`: every action is refused with 403, API and pages alike.

`check` returns the request's `Principal`, which the blueprint keeps in `flask.g` for `require`,
the templates (`dlq_may`) and the audit log's actor (`actor()`).

Secrets are compared with `hmac.compare_digest`, and never echoed in a response or a log.
Every response of the blueprint carries a Content-Security-Policy without inline scripts.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Response, g, request
from flask_wtf.csrf import ValidationError, validate_csrf
from loguru import logger

from failure_handlers.audit import Actor
from failure_handlers.web import roles
from failure_handlers.web.errors import BASIC_CHALLENGE, BEARER_CHALLENGE, WebError
from failure_handlers.web.settings import DashboardSettings
from failure_handlers.web.users import Principal, Users

LEGACY_TOKEN_NAME = "DASHBOARD_API_TOKEN"
ANONYMOUS = Principal("anonymous", "admin", "anonymous")  # no credentials configured: loopback only

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


def check(settings: DashboardSettings, users: Users, is_api: bool) -> Principal:
    """The request's principal; raises `WebError` unless this request may proceed (module docstring)."""
    writes = request.method not in SAFE_METHODS
    if is_api and writes:
        principal = _require_token(settings, users)
    else:
        principal = _require_reader(settings, users, accept_token=is_api)
    if writes:
        if settings.read_only:
            raise WebError(403, "the dashboard is read-only (DASHBOARD_READ_ONLY=true): no action is allowed")
        if not roles.may_act(principal.role):
            raise WebError(
                403, f"your role ({principal.role}) may only read: no action is allowed", role=principal.role
            )
        if not is_api:
            _require_same_origin()
            _require_csrf_token()
    return principal


def require(action: str) -> Principal:
    """The principal of this request if its role may do `action`, else 403 (JSON on the API, a page
    for forms), whatever the page showed."""
    principal: Principal = g.rq_dlq_principal
    if not roles.may(principal.role, action):
        _note_refusal(principal, action)
        raise WebError(403, roles.refusal(principal.role, action), role=principal.role, action=action)
    return principal


def _note_refusal(principal: Principal, what: str) -> None:
    """A refused action is a log line, not an audit record: a viewer must not be able to push the
    real records out of the bounded audit log by posting refused forms."""
    logger.warning(
        "refused {!r} to {} {!r} ({}) from {}", what[:200], principal.kind, principal.name, principal.role,
        request.remote_addr,
    )  # fmt: skip


def may(action: str) -> bool:
    """For the templates: show only what the role may do (the server still checks every request)."""
    principal: Principal | None = g.get("rq_dlq_principal")
    return principal is not None and roles.may(principal.role, action)


def actor() -> Actor:
    """The audit log's actor of this request: the user or token name, its role, the client address."""
    principal: Principal = g.rq_dlq_principal
    via = "api" if request.blueprint and request.blueprint.endswith(".api") else "dashboard"
    return Actor(principal.name, via, principal.role, request.remote_addr or "")


def login_required(settings: DashboardSettings, users: Users) -> bool:
    return settings.auth is not None or bool(users.passwords)


def _require_reader(settings: DashboardSettings, users: Users, accept_token: bool) -> Principal:
    auth = request.authorization
    if not login_required(settings, users):
        if auth is not None and auth.type == "bearer" and accept_token and auth.token:
            found = _token_principal(settings, users, auth.token)
            if found is not None:
                return found
        return ANONYMOUS
    if auth is None:
        raise WebError(401, "authentication required (HTTP Basic)", challenge=BASIC_CHALLENGE)
    if auth.type == "bearer" and accept_token and auth.token:
        found = _token_principal(settings, users, auth.token)
        if found is not None:
            return found
    elif auth.type == "basic":
        found = _password_principal(settings, users, auth.username or "", auth.password or "")
        if found is not None:
            return found
    if accept_token:  # the API: credentials were given and are wrong
        raise WebError(403, "wrong credentials")
    raise WebError(401, "wrong user or password", challenge=BASIC_CHALLENGE)


def _password_principal(settings: DashboardSettings, users: Users, name: str, password: str) -> Principal | None:
    if settings.auth is not None:
        user, expected = settings.auth
        user_ok = same_secret(name, user)
        password_ok = same_secret(password, expected)
        if user_ok and password_ok:
            return Principal(user, "admin", "user")
    return users.check_password(name, password) if users.passwords else None


def _token_principal(settings: DashboardSettings, users: Users, token: str) -> Principal | None:
    if settings.api_token and same_secret(token, settings.api_token):
        return Principal(LEGACY_TOKEN_NAME, "admin", "token")
    return users.check_token(token)


def _require_token(settings: DashboardSettings, users: Users) -> Principal:
    if not settings.api_token and not users.tokens:
        raise WebError(403, "API writes are disabled: set DASHBOARD_API_TOKEN or name tokens in DASHBOARD_USERS_FILE")
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        raise WebError(401, "API writes need Authorization: Bearer <API token>", challenge=BEARER_CHALLENGE)
    found = _token_principal(settings, users, auth.token)
    if found is None:
        raise WebError(403, "wrong API token")
    return found


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
