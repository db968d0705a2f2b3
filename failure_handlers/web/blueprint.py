"""The dashboard as a Flask blueprint, to mount in any Flask app under any URL prefix:

    from failure_handlers.web import create_blueprint
    app.register_blueprint(create_blueprint(), url_prefix="/dlq")

It needs `app.secret_key` (Flask-WTF signs its CSRF tokens with it, in Flask's session). Every
request to the blueprint passes `security.check` first; its responses carry the security headers.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request
from flask.sansio.blueprints import BlueprintSetupState
from flask_wtf.csrf import generate_csrf
from redis import Redis
from redis.exceptions import RedisError

from failure_handlers import runtime
from failure_handlers.config import Settings
from failure_handlers.errors import OperatorError, RedisUnavailable
from failure_handlers.metrics.server import exposition
from failure_handlers.redaction import redact_url
from failure_handlers.web import actions, api, incident_pages, pages, security
from failure_handlers.web.errors import WebError, error_response
from failure_handlers.web.formatting import FILTERS
from failure_handlers.web.state import DashboardState

# The API's POST views (CSRF-exempt: a bearer token instead)
API_WRITES = ("requeue", "delete", "replay", "pause", "resume")


def create_blueprint(
    settings: Settings | None = None, connection: Redis | None = None, name: str = "rq_dlq"
) -> Blueprint:
    """The dashboard's pages (`/`, `/groups`, `/failed`, `/jobs/<id>`, `/history`, `/actions/...`), its JSON
    API (`/api/...`) and Prometheus' `/metrics`. `settings` default to the process's (`.env` and the
    environment); the Redis connection is made from them on first use unless `connection` is given."""
    state = DashboardState(settings or runtime.settings(), connection)
    state.users  # noqa: B018 - read the users file now: a bad one stops the start, not the first request
    bp = Blueprint(name, __name__, template_folder="templates", static_folder="static", static_url_path="/static")
    api_bp = Blueprint("api", __name__)
    pages.register(bp, state)
    actions.register(bp, state)
    incident_pages.register(bp, state)
    api.register(api_bp, state)
    bp.register_blueprint(api_bp, url_prefix="/api")

    @bp.get("/metrics")
    def metrics() -> Response:
        """Prometheus exposition (the same collector as `rq-dlq metrics`), behind the API-read rules."""
        body, content_type = exposition(state.metrics)
        return Response(body, content_type=content_type)

    @bp.before_request
    def guard() -> None:
        is_api = bool(request.blueprint and request.blueprint.endswith(".api"))
        g.rq_dlq_principal = security.check(state.settings.dashboard, state.users, is_api=is_api)

    @bp.after_request
    def headers(response: Response) -> Response:
        return security.add_headers(response)

    @bp.context_processor
    def template_globals() -> dict[str, object]:
        return {
            "csrf_token": generate_csrf,
            "dlq_read_only": state.read_only,
            "dlq_may": lambda action: not state.read_only and security.may(action),
            "dlq_principal": g.get("rq_dlq_principal"),
            "dlq_refresh_seconds": state.settings.dashboard.refresh_seconds,
            "dlq_redis": state.redis_label,
            "dlq_prefix": state.settings.dlq.prefix,
            "dlq_archive": state.settings.archive.enabled,
        }

    bp.register_error_handler(WebError, error_response)
    bp.register_error_handler(OperatorError, lambda error: error_response(_operator_error(error)))
    bp.register_error_handler(RedisError, lambda error: error_response(_redis_error(state, error)))
    bp.record_once(_on_register)
    return bp


def _on_register(setup: BlueprintSetupState) -> None:
    app = setup.app
    if not app.secret_key:
        raise RuntimeError(
            "the rq-dlq dashboard needs app.secret_key (Flask-WTF signs CSRF tokens with it); "
            "set it before registering the blueprint"
        )
    for name, function in FILTERS.items():
        app.jinja_env.filters.setdefault(name, function)
    csrf = app.extensions.get("csrf")
    if csrf is not None:  # the app runs Flask-WTF's CSRFProtect: API writes use a bearer token instead
        for view in API_WRITES:
            csrf.exempt(f"{api.__name__}.{view}")


def _operator_error(error: OperatorError) -> WebError:
    status = 503 if isinstance(error, RedisUnavailable) else 400
    return WebError(status, str(error))


def _redis_error(state: DashboardState, error: RedisError) -> WebError:
    reason = redact_url(str(error)) if "://" in str(error) else str(error)
    return WebError(503, f"Redis at {state.redis_label} failed: {reason}")
