"""django-rq's queues as our commands need them: a queue's settings, its connection, and a URL that
names that connection in our messages (password redacted there) and in `REDIS_URL`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from redis import Redis
from redis.connection import SSLConnection
from redis.sentinel import SentinelConnectionPool

from failure_handlers.errors import OperatorError
from failure_handlers.redaction import redact_text


class UnknownQueue(OperatorError, ValueError):
    """No queue of that name in django-rq's `RQ_QUEUES`."""


def queue_config(name: str) -> dict[str, Any]:
    """`RQ_QUEUES[name]`; `UnknownQueue` names the queues there are."""
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django_rq.settings import QUEUES
    except ImproperlyConfigured as error:  # django-rq's "You have to define RQ_QUEUES in settings.py"
        raise UnknownQueue(f"no django-rq queue named {name!r}: {error}") from None
    if name not in QUEUES:
        known = ", ".join(sorted(QUEUES)) or "none"
        raise UnknownQueue(f"no django-rq queue named {name!r} in RQ_QUEUES (there: {known})")
    return dict(QUEUES[name])


def queue_connection(name: str) -> Redis:
    """The connection django-rq makes for queue `name` (`django_rq.get_connection`), not yet checked;
    a queue whose settings django-rq cannot make one from is an `OperatorError`."""
    from django_rq import get_connection

    queue_config(name)
    try:
        return get_connection(name)
    except Exception as error:  # noqa: BLE001 - django-rq raises whatever its settings lead to (KeyError...)
        raise OperatorError(
            f"django-rq cannot make the connection of queue {name!r} from RQ_QUEUES: "
            f"{type(error).__name__}: {redact_text(str(error), _secrets(queue_config(name)))}"
        ) from None


def _secrets(config: dict[str, Any]) -> list[str]:
    return [str(config[key]) for key in ("PASSWORD",) if config.get(key)]


def url_of(connection: Redis) -> str:
    """A URL for the server `connection` talks to: `redis://`, `rediss://`, `unix://`, or our
    `redis+sentinel://` form for a Sentinel-managed primary. Options beyond the address, database and
    credentials (timeouts, certificates) are not in it: our commands use the connection itself."""
    pool = connection.connection_pool
    options = pool.connection_kwargs
    db = options.get("db") or 0
    credentials = _userinfo(options.get("username"), options.get("password"))
    if isinstance(pool, SentinelConnectionPool):
        sentinels = ",".join(
            _address(sentinel.connection_pool.connection_kwargs) for sentinel in pool.sentinel_manager.sentinels
        )
        return f"redis+sentinel://{credentials}{sentinels}/{pool.service_name}/{db}"
    if options.get("path"):
        return f"unix://{credentials}{options['path']}?db={db}"
    scheme = "rediss" if issubclass(pool.connection_class, SSLConnection) else "redis"
    return f"{scheme}://{credentials}{_address(options)}/{db}"


def _address(options: dict[str, Any]) -> str:
    host = str(options.get("host") or "localhost")
    return f"[{host}]:{options.get('port') or 6379}" if ":" in host else f"{host}:{options.get('port') or 6379}"


def _userinfo(username: str | None, password: str | None) -> str:
    if not username and not password:
        return ""
    return f"{quote(username or '', safe='')}{':' + quote(password, safe='') if password else ''}@"
