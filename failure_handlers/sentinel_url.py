"""`REDIS_URL` forms beyond redis-py's own: a Sentinel-managed primary, and Redis Cluster (refused).

Pure parsing, no connection: `runtime.connect` (every process of ours) and `rq_settings` (RQ's
worker) both build their connection from the same `SentinelUrl`, and `config.py` validates with it.

    redis+sentinel://[user:password@]host[:port][,host[:port]...]/<master name>[/<db>][?parameters]
    rediss+sentinel://...   (the same, with TLS: like ssl=true)

The form of the `redis-sentinel-url` package: the user and password are the primary's (its ACL user
or `requirepass`); a host without a port is a Sentinel on 26379. Query parameters (see `PARAMETERS`):
the Sentinels' own credentials, TLS, and timeouts. Anything else is an error, so a misspelt parameter
is never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
DEFAULT_SENTINEL_PORT = 26379
CLUSTER_UNSUPPORTED = (
    "RQ does not support Redis Cluster: a queue's keys and this project's Lua scripts must live on one node; "
    "use a single primary, with Sentinel (redis+sentinel://) for failover"
)
TLS_FILES = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile")
CERT_REQS = ("required", "optional", "none")
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}

PARAMETERS = {
    "sentinel_username": "the Sentinels' own ACL user (Sentinel's `requirepass`/`user` settings)",
    "sentinel_password": "the Sentinels' own password",
    "ssl": "true: TLS to the primary and the Sentinels (the same as rediss+sentinel://)",
    "sentinel_ssl": "false: plain TCP to the Sentinels while the primary uses TLS (default: as ssl)",
    "ssl_ca_certs": "the CA file that verifies the servers' certificates",
    "ssl_certfile": "the client certificate (mutual TLS), with ssl_keyfile",
    "ssl_keyfile": "the client certificate's key",
    "ssl_cert_reqs": "required (default), optional or none",
    "socket_timeout": "seconds a command may wait for its reply (default: no limit)",
    "socket_connect_timeout": "seconds a connection may take (default: the caller's)",
}
"""Every query parameter a Sentinel URL accepts, with what it does (docs/production-redis.md)."""


def is_sentinel_url(url: str | None) -> bool:
    return bool(url) and _scheme(url or "") in SENTINEL_SCHEMES


def is_cluster_url(url: str | None) -> bool:
    return bool(url) and _scheme(url or "") in CLUSTER_SCHEMES


@dataclass(frozen=True)
class SentinelUrl:
    """A parsed `redis+sentinel://` URL: where the Sentinels are and how to reach the primary they name."""

    sentinels: tuple[tuple[str, int], ...]
    master_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False
    sentinel_ssl: bool = False
    ssl_options: tuple[tuple[str, str], ...] = ()  # ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_cert_reqs
    socket_timeout: float | None = None
    socket_connect_timeout: float | None = None

    def connection_kwargs(self) -> dict[str, Any]:
        """redis-py keyword arguments for the primary's connections (`Sentinel.master_for`)."""
        kwargs: dict[str, Any] = {"db": self.db, "username": self.username, "password": self.password}
        if self.ssl:
            kwargs.update(ssl=True, **dict(self.ssl_options))
        if self.socket_timeout is not None:
            kwargs["socket_timeout"] = self.socket_timeout
        if self.socket_connect_timeout is not None:
            kwargs["socket_connect_timeout"] = self.socket_connect_timeout
        return kwargs

    def sentinel_kwargs(self, default_timeout: float) -> dict[str, Any]:
        """redis-py keyword arguments for the connections to the Sentinels themselves.

        They get their own timeouts (`default_timeout` unless the URL sets them): a Sentinel answers
        at once or not at all, and redis-py gives them none when `sentinel_kwargs` is passed.
        """
        kwargs: dict[str, Any] = {
            "username": self.sentinel_username,
            "password": self.sentinel_password,
            "socket_timeout": self.socket_timeout or default_timeout,
            "socket_connect_timeout": self.socket_connect_timeout or default_timeout,
        }
        if self.sentinel_ssl:
            kwargs.update(ssl=True, **dict(self.ssl_options))
        return kwargs

    def secrets(self) -> tuple[str, ...]:
        """The passwords in this URL, to redact from any text that might echo them."""
        return tuple(secret for secret in (self.password, self.sentinel_password) if secret)


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Parse a `redis+sentinel://` or `rediss+sentinel://` URL; raises `ValueError` with a reason that
    never contains a password."""
    scheme = _scheme(url)
    if scheme not in SENTINEL_SCHEMES:
        raise ValueError(f"expected {' or '.join(s + '://' for s in SENTINEL_SCHEMES)}")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.fragment:
        raise ValueError("a Sentinel URL has no #fragment")
    userinfo, at, hosts = parts.netloc.rpartition("@")
    username, password = _credentials(userinfo) if at else (None, None)
    master_name, db = _master_and_db(parts.path)
    options = _query(parts.query)
    ssl = scheme == "rediss+sentinel" or _boolean(options, "ssl", False)
    ssl_options = tuple((name, options[name]) for name in (*TLS_FILES, "ssl_cert_reqs") if name in options)
    if ssl_options and not ssl:
        raise ValueError(f"{ssl_options[0][0]} needs TLS: use rediss+sentinel:// or ssl=true")
    if options.get("ssl_cert_reqs", "required") not in CERT_REQS:
        raise ValueError(f"ssl_cert_reqs: expected one of {', '.join(CERT_REQS)}")
    if ("ssl_certfile" in options) != ("ssl_keyfile" in options):
        raise ValueError("ssl_certfile and ssl_keyfile go together (mutual TLS)")
    return SentinelUrl(
        sentinels=_sentinels(hosts),
        master_name=master_name,
        db=db,
        username=username,
        password=password,
        sentinel_username=options.get("sentinel_username"),
        sentinel_password=options.get("sentinel_password"),
        ssl=ssl,
        sentinel_ssl=_boolean(options, "sentinel_ssl", ssl),
        ssl_options=ssl_options,
        socket_timeout=_seconds(options, "socket_timeout"),
        socket_connect_timeout=_seconds(options, "socket_connect_timeout"),
    )


def _scheme(url: str) -> str:
    return url.partition("://")[0].strip().lower() if "://" in url else ""


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    user, _, password = userinfo.partition(":")
    return unquote(user) or None, unquote(password) or None


def _sentinels(hosts: str) -> tuple[tuple[str, int], ...]:
    if not hosts:
        raise ValueError("no Sentinel host: expected host:port[,host:port...] before the master name")
    return tuple(_host_and_port(host) for host in hosts.split(","))


def _host_and_port(text: str) -> tuple[str, int]:
    if text.startswith("["):  # [IPv6]:port
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"Sentinel host {text!r}: expected [address]:port")
        port_text = rest[1:]
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise ValueError(f"Sentinel host {text!r}: empty host name")
    if not port_text:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"Sentinel host {text!r}: the port must be a number from 1 to 65535")
    return host, int(port_text)


def _master_and_db(path: str) -> tuple[str, int]:
    segments = [unquote(segment) for segment in path.strip("/").split("/")] if path.strip("/") else []
    if not segments:
        raise ValueError("no master name: expected /<master name>[/<db>] after the Sentinel hosts")
    if len(segments) > 2:
        raise ValueError("expected /<master name>[/<db>] after the Sentinel hosts")
    if len(segments) == 1:
        return segments[0], 0
    if not segments[1].isdigit():
        raise ValueError(f"database {segments[1]!r}: expected a number (/<master name>/<db>)")
    return segments[0], int(segments[1])


def _query(query: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in PARAMETERS:
            raise ValueError(f"unknown parameter {name!r}: expected {', '.join(PARAMETERS)}")
        if name in options:
            raise ValueError(f"parameter {name!r} given twice")
        if not value:
            raise ValueError(f"parameter {name!r} is empty")
        options[name] = value
    return options


def _boolean(options: dict[str, str], name: str, default: bool) -> bool:
    if name not in options:
        return default
    value = BOOLEANS.get(options[name].lower())
    if value is None:
        raise ValueError(f"{name}={options[name]!r}: expected true or false")
    return value


def _seconds(options: dict[str, str], name: str) -> float | None:
    if name not in options:
        return None
    try:
        value = float(options[name])
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name}={options[name]!r}: expected a number of seconds > 0")
    return value
