"""Per-process state: the settings (loaded once) and the Redis connection built from them."""

from __future__ import annotations

from functools import lru_cache

from redis import Redis
from redis.exceptions import AuthenticationError, RedisError
from rq.serializers import Serializer, resolve_serializer

from failure_handlers.config import DEFAULT_REDIS_URL, Settings, load_settings
from failure_handlers.errors import ConfigError, RedisUnavailable
from failure_handlers.redaction import redact_url

CONNECT_TIMEOUT_SECONDS = 3


@lru_cache(maxsize=1)
def settings() -> Settings:
    """This process's settings; raises `ConfigError` on a bad value."""
    return load_settings()


def connect(url: str | None) -> Redis:
    """A checked connection (one PING); raises `RedisUnavailable` with the URL redacted."""
    target = url or DEFAULT_REDIS_URL
    try:
        connection = Redis.from_url(target, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS, health_check_interval=30)
        connection.ping()
    except AuthenticationError:
        raise RedisUnavailable(
            f"Redis at {redact_url(target)} refused the credentials: check the password in REDIS_URL"
        ) from None
    except (RedisError, ValueError, OSError) as error:
        reason = redact_url(str(error)) if "://" in str(error) else str(error)
        raise RedisUnavailable(f"cannot reach Redis at {redact_url(target)}: {reason}") from None
    return connection


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
