"""`rq-dlq web`: the dashboard on a production WSGI server (waitress), never Flask's dev server.

It refuses to listen on anything but a loopback address unless `DASHBOARD_AUTH` is set: job
messages and arguments are not for the whole network. Bad input is one `error: ...` line, exit 2.
"""

from __future__ import annotations

import ipaddress

import click
from loguru import logger

from failure_handlers import runtime
from failure_handlers.config import DEFAULT_REDIS_URL
from failure_handlers.errors import OperatorError, RedisUnavailable
from failure_handlers.logging_setup import configure_logging
from failure_handlers.redaction import redact_url

DEFAULT_THREADS = 8


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1. Any other name or address (0.0.0.0 included) is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@click.command()
@click.option("--host", help="Address to listen on [DASHBOARD_HOST, default 127.0.0.1].")
@click.option("--port", type=click.IntRange(1, 65535), help="Port [DASHBOARD_PORT, default 9181].")
@click.option("--url-prefix", default="", help="Serve under this path, e.g. /dlq (behind a reverse proxy).")
@click.option("--threads", type=click.IntRange(1, 64), default=DEFAULT_THREADS, show_default=True)
def web(host: str | None, port: int | None, url_prefix: str, threads: int) -> None:
    """Serve the DLQ dashboard and its JSON API (waitress)."""
    settings = runtime.settings()
    configure_logging(settings)
    host = host or settings.dashboard.host
    port = port or settings.dashboard.port
    if url_prefix and (not url_prefix.startswith("/") or url_prefix.endswith("/")):
        raise click.BadParameter(
            "expected a path like /dlq (a leading slash, none at the end)", param_hint="--url-prefix"
        )
    if not is_loopback(host) and settings.dashboard.auth is None and not settings.dashboard.has_users:
        raise OperatorError(
            f"refusing to serve the dashboard on {host!r}, which is not a loopback address, without "
            "DASHBOARD_AUTH=user:password or DASHBOARD_USERS_FILE; set one, or listen on 127.0.0.1"
        )
    try:
        import waitress

        from failure_handlers.web.app import create_app
    except ImportError as error:
        raise OperatorError(f"the dashboard needs the web extra ({error}): pip install 'rq-dead-letter[web]'") from None
    app = create_app(settings, url_prefix=url_prefix)
    if note := runtime.default_url_note(settings):
        click.echo(note, err=True)
    try:
        runtime.connect(settings.redis_url).close()
    except RedisUnavailable as error:  # keep serving: pages answer 503 until Redis is back
        logger.warning("{}; the dashboard answers 503 until it is reachable", error)
    mode = "read-only" if settings.dashboard.read_only else "actions enabled"
    auth = "HTTP Basic" if settings.dashboard.auth else "no authentication (loopback only)"
    if settings.dashboard.has_users:
        from failure_handlers.web.users import load_users

        users = load_users(settings.dashboard.users_file, settings.dashboard.users)  # read once more: cheap
        auth = f"HTTP Basic; {len(users.passwords)} users, {len(users.tokens)} API tokens with roles"
    click.echo(
        f"rq-dlq dashboard on http://{_netloc(host, port)}{url_prefix}/ ({mode}; {auth}; "
        f"Redis {redact_url(settings.redis_url or DEFAULT_REDIS_URL)}, prefix {settings.dlq.prefix!r})"
    )
    try:
        waitress.serve(app, host=host, port=port, threads=threads, ident="rq-dlq", _quiet=True)
    except OSError as error:
        raise OperatorError(f"cannot listen on {_netloc(host, port)}: {error.strerror or error}") from None


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"
