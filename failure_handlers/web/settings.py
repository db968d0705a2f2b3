"""The DASHBOARD_* settings of the web dashboard (`rq-dlq web`). Pure code: no Flask here, so a
worker parses them without importing the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field

from failure_handlers.errors import ConfigError
from failure_handlers.settings_reader import Reader, Source

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9181
DEFAULT_REFRESH_SECONDS = 10
MIN_API_TOKEN_CHARS = 16
MAX_PORT = 65535

DEFAULTS = {
    "DASHBOARD_AUTH": None,
    "DASHBOARD_API_TOKEN": None,
    "DASHBOARD_USERS_FILE": None,
    "DASHBOARD_USERS": None,
    "DASHBOARD_READ_ONLY": False,
    "DASHBOARD_SECRET_KEY": None,
    "DASHBOARD_HOST": DEFAULT_HOST,
    "DASHBOARD_PORT": DEFAULT_PORT,
    "DASHBOARD_REFRESH_SECONDS": DEFAULT_REFRESH_SECONDS,
}


@dataclass(frozen=True)
class DashboardSettings:
    """Validated DASHBOARD_* values. Secrets are left out of repr() so they never reach a log."""

    auth: tuple[str, str] | None = field(default=None, repr=False)  # Basic user, password
    api_token: str | None = field(default=None, repr=False)  # Bearer token for API writes
    users_file: str | None = None  # users and API tokens with roles (web/users.py), read when the dashboard starts
    users: str | None = field(default=None, repr=False)  # the same lines in a variable (`;` or newlines)
    read_only: bool = False
    secret_key: str | None = field(default=None, repr=False)  # signs CSRF tokens and the session
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    refresh_seconds: int = DEFAULT_REFRESH_SECONDS  # 0 = counts do not refresh

    @property
    def has_users(self) -> bool:
        """Users or tokens with roles are configured (DASHBOARD_USERS_FILE or DASHBOARD_USERS)."""
        return bool(self.users_file or self.users)


def parse_dashboard_settings(source: Source) -> DashboardSettings:
    """DASHBOARD_* from `source`; raises `ConfigError` naming the variable (never a secret's value)."""
    read = Reader(source, DEFAULTS)
    return DashboardSettings(
        auth=_basic_auth(read.given("DASHBOARD_AUTH")),
        api_token=_api_token(read.given("DASHBOARD_API_TOKEN")),
        users_file=read.given("DASHBOARD_USERS_FILE"),
        users=read.given("DASHBOARD_USERS"),
        read_only=read.boolean("DASHBOARD_READ_ONLY"),
        secret_key=read.text("DASHBOARD_SECRET_KEY"),
        host=read.text("DASHBOARD_HOST"),
        port=_port(read),
        refresh_seconds=read.whole_number("DASHBOARD_REFRESH_SECONDS", minimum=0),
    )


def _basic_auth(text: str | None) -> tuple[str, str] | None:
    """`user:password` (the password may contain ':'); the error never repeats the value."""
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise ConfigError("DASHBOARD_AUTH: expected user:password, both non-empty (value not shown)")
    return user, password


def _api_token(text: str | None) -> str | None:
    if text is None:
        return None
    if len(text) < MIN_API_TOKEN_CHARS or any(char.isspace() for char in text):
        raise ConfigError(
            f"DASHBOARD_API_TOKEN: expected at least {MIN_API_TOKEN_CHARS} characters without spaces (value not shown)"
        )
    return text


def _port(read: Reader) -> int:
    port = read.whole_number("DASHBOARD_PORT", minimum=1)
    if port > MAX_PORT:
        raise ConfigError(f"DASHBOARD_PORT={read.given('DASHBOARD_PORT')!r}: expected a TCP port, 1-65535")
    return port
