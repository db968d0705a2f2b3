"""Per-process state: the settings (loaded once) and the Redis connection built from them."""

from __future__ import annotations

import re
import sys
from functools import lru_cache
from typing import Any

from redis import Redis
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import (
    AuthenticationError,
    ConnectionError,
    NoPermissionError,
    RedisError,
    TimeoutError,
)
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel
from rq.serializers import Serializer, resolve_serializer

from failure_handlers.config import DEFAULT_REDIS_URL, Settings, load_settings
from failure_handlers.errors import ConfigError, RedisUnavailable
from failure_handlers.redaction import redact_text, redact_url
from failure_handlers.sentinel_connection import failover_connection_class
from failure_handlers.sentinel_url import CLUSTER_UNSUPPORTED, SentinelUrl, is_sentinel_url, parse_sentinel_url

CONNECT_TIMEOUT_SECONDS = 3
HEALTH_CHECK_SECONDS = 30
# A connection to a Sentinel-managed primary retries a command that lost its connection (the primary
# went away) with backoff 0.2, 0.4, 0.8, 1.6, then 2 s: 20 retries span about 35 s, longer than
# Sentinel's default `down-after-milliseconds` (30 s) plus an election. redis-py gives connections
# from `Sentinel.master_for` no retries at all unless told (redis-py 8.1).
FAILOVER_RETRIES = 20
FAILOVER_BACKOFF_BASE_SECONDS = 0.1
FAILOVER_BACKOFF_CAP_SECONDS = 2.0
FAILOVER_RETRY_ON_ERROR: list[type[Exception]] = [ConnectionError, TimeoutError]


@lru_cache(maxsize=1)
def settings() -> Settings:
    """This process's settings; raises `ConfigError` on a bad value."""
    return load_settings()


def settings_or_exit() -> Settings:
    """This process's settings, for an entry point (a worker's settings module or class): a bad value
    stops the process with one `error: ...` line and exit status 2."""
    try:
        return settings()
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None


_hosted: dict[str, Redis] = {}


def host_connection(url: str, connection: Redis) -> None:
    """Make `connect(url)` return `connection`, made by the host application with its own options
    (django-rq's connection of a queue, for `manage.py rq_dlq`), after the same checks."""
    _hosted[url] = connection


def default_url_note(settings: Settings) -> str | None:
    """The one line our commands print on stderr before connecting when `REDIS_URL` is unset: they then
    read the default server, which may not be the application's (a Django project's queues live in
    its settings: `python manage.py rq_dlq`)."""
    if settings.redis_url:
        return None
    return f"note: REDIS_URL is not set: using {DEFAULT_REDIS_URL}"


def connect(url: str | None) -> Redis:
    """A checked connection (one PING); raises `RedisUnavailable` with the URL redacted.

    A `redis+sentinel://` URL asks the Sentinels for the primary and follows it through a failover
    (`failover_retry`); a server in cluster mode is refused (RQ cannot run on Redis Cluster).
    """
    target = url or DEFAULT_REDIS_URL
    shown = redact_url(target)
    hosted = _hosted.get(target)
    sentinel_url = parse_sentinel_url(target) if is_sentinel_url(target) and hosted is None else None
    secrets = sentinel_url.secrets() if sentinel_url else ()
    try:
        if hosted is not None:
            connection = hosted
        elif sentinel_url:
            connection = _sentinel_primary(sentinel_url)
        else:
            connection = Redis.from_url(
                target, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, health_check_interval=HEALTH_CHECK_SECONDS
            )
        connection.ping()
        _refuse_cluster(connection, shown)
    except AuthenticationError:
        raise RedisUnavailable(f"Redis at {shown} refused the credentials: check the password in REDIS_URL") from None
    except MasterNotFoundError as error:
        reason = _reason(error, secrets)
        hint = ": check sentinel_password in REDIS_URL" if "AuthenticationError" in reason else ""
        raise RedisUnavailable(
            f"cannot reach Redis at {shown}: no Sentinel named a reachable primary ({reason}){hint}"
        ) from None
    except (RedisError, ValueError, OSError) as error:
        raise RedisUnavailable(f"cannot reach Redis at {shown}: {_reason(error, secrets)}") from None
    if sentinel_url:
        connection.set_retry(failover_retry())  # after the first PING: a bad password fails at once
    return connection


def failover_retry() -> Retry:
    """The retry policy of connections to a Sentinel-managed primary (see FAILOVER_RETRIES)."""
    return Retry(
        ExponentialBackoff(cap=FAILOVER_BACKOFF_CAP_SECONDS, base=FAILOVER_BACKOFF_BASE_SECONDS), FAILOVER_RETRIES
    )


def sentinel_connection_kwargs(target: SentinelUrl) -> dict[str, Any]:
    """The primary's connection arguments beyond the URL's own: timeouts, the failover retry, and a
    connection that asks the Sentinels again when it reconnects (`sentinel_connection.py`)."""
    kwargs = target.connection_kwargs()
    kwargs.setdefault("socket_connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return {
        **kwargs,
        "retry": failover_retry(),
        "retry_on_error": list(FAILOVER_RETRY_ON_ERROR),
        "connection_class": failover_connection_class(bool(kwargs.get("ssl"))),
    }


def rq_sentinel_settings(target: SentinelUrl) -> dict[str, Any]:
    """RQ's `SENTINEL` setting (rq/cli/helpers.py `get_redis_from_config`, rq 3.0) for the same primary
    as `connect`, with the same failover retry."""
    connection = sentinel_connection_kwargs(target)
    named = {
        "db": "DB",
        "username": "USERNAME",
        "password": "PASSWORD",
        "socket_timeout": "SOCKET_TIMEOUT",
        "ssl": "SSL",
    }
    return {
        "INSTANCES": list(target.sentinels),
        "MASTER_NAME": target.master_name,
        **{named[key]: connection.pop(key) for key in list(connection) if key in named},
        "CONNECTION_KWARGS": connection,
        "SENTINEL_KWARGS": sentinel_kwargs(target),
    }


def sentinel_kwargs(target: SentinelUrl) -> dict[str, Any]:
    """The Sentinels' connection arguments: no retries of their own (redis-py's default would retry a wrong
    `sentinel_password` 3 times per Sentinel), since asking the next Sentinel is the retry."""
    return {**target.sentinel_kwargs(CONNECT_TIMEOUT_SECONDS), "retry": Retry(NoBackoff(), 0)}


def _sentinel_primary(target: SentinelUrl) -> Redis:
    """A client of the primary the Sentinels name; no retries until `connect` has checked it."""
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=sentinel_kwargs(target))
    kwargs = {**sentinel_connection_kwargs(target), "retry": Retry(NoBackoff(), 0)}
    return sentinel.master_for(target.master_name, health_check_interval=HEALTH_CHECK_SECONDS, **kwargs)


def _refuse_cluster(connection: Redis, shown: str) -> None:
    """RQ cannot run on Redis Cluster: say so at once rather than at the first MOVED reply."""
    try:
        cluster = connection.info("cluster").get("cluster_enabled")
    except NoPermissionError:  # a user without INFO: MOVED replies are explained where they arrive
        return
    if cluster == 1:
        raise RedisUnavailable(f"Redis at {shown} is a cluster node. {CLUSTER_UNSUPPORTED}")


# redis-py names a Sentinel it could not ask by the client's whole repr (dozens of settings): keep its address
_CLIENT_REPR = re.compile(r"<redis\.client\.Redis\(.*?[(,]host=([^,]+),port=(\d+)[,)].*?\)>\)>\)>", re.DOTALL)


def _reason(error: Exception, secrets: tuple[str, ...]) -> str:
    """The error's text, one line, without passwords, a Sentinel client shown as its address."""
    text = _CLIENT_REPR.sub(r"Sentinel \1:\2", str(error))
    return redact_text(text, secrets)


@lru_cache(maxsize=1)
def serializer() -> Serializer:
    """RQ's serializer named by `RQ_SERIALIZER`; raises `ConfigError` if it cannot be loaded."""
    name = settings().serializer
    try:
        return resolve_serializer(name)
    except (ImportError, AttributeError, ValueError, NotImplementedError) as error:
        raise ConfigError(f"RQ_SERIALIZER={name!r} cannot be used: {error}") from None


@lru_cache(maxsize=1)
def default_connection() -> Redis:
    """The connection to this process's `REDIS_URL`, made on first use."""
    return connect(settings().redis_url)
