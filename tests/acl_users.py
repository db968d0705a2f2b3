"""ACL users of `failure_handlers/storage/acl.py` on a test's own server, and URLs that log in as them."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from redis import Redis

from failure_handlers.storage.acl import ROLES


def password(role: str) -> str:
    return f"{role}-pw-7f3c"


def create_users(admin: Redis, prefix: str, roles: Iterable[str] = ROLES) -> None:
    """One user per role, named after it, with the role's line for `prefix` (as `rq-dlq acl` prints it)."""
    for role in roles:
        admin.execute_command("ACL", "SETUSER", role, *ROLES[role].setuser_args(prefix, password(role)))


def delete_users(admin: Redis, roles: Iterable[str] = ROLES) -> None:
    admin.execute_command("ACL", "DELUSER", *roles)


def user_url(url: str, user: str, secret: str | None = None) -> str:
    """`url` (redis://host:port/db) logging in as `user` (with the role's test password by default)."""
    parts = urlsplit(url)
    netloc = f"{user}:{secret or password(user)}@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
