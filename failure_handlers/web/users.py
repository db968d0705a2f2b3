"""Dashboard users and API tokens, each with a role (`roles.py`), from DASHBOARD_USERS_FILE or
DASHBOARD_USERS: one per line (`;` also separates them in the variable), `#` starts a comment:

    user   alice      admin     $argon2id$v=19$m=65536,t=3,p=4$...   (rq-dlq user hash)
    user   bob        viewer    $argon2id$...
    token  deploy-bot operator  sha256:9f86d081884c7d65...            (rq-dlq user token)

Passwords are stored as Argon2 hashes (argon2-cffi), never in clear; tokens, random and long, as
their SHA-256. A bad line (unknown kind or role, a password not hashed, a duplicate name) is a
`ConfigError` naming the line, never its secret: `rq-dlq web` says it in one line and exits 2.

Checking a password costs Argon2's fraction of a second (on purpose); a browser sends the Basic credentials with
every request, so a good pair is remembered (as an HMAC with a per-process key) for a few minutes.
An unknown user costs the same time as a wrong password: names cannot be probed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from failure_handlers.errors import ConfigError
from failure_handlers.web.roles import ROLES

KINDS = ("user", "token")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
TOKEN_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
ARGON2_PREFIX = "$argon2"
REMEMBER_SECONDS = 300
REMEMBER_MAX = 1_000
MIN_TOKEN_CHARS = 16


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a dashboard user, an API token, or nobody (no credentials configured)."""

    name: str
    role: str
    kind: str  # "user", "token" or "anonymous"


@dataclass
class Users:
    """The configured users (name -> (role, argon2 hash)) and tokens (sha256 hex -> (name, role))."""

    passwords: dict[str, tuple[str, str]] = field(default_factory=dict)
    tokens: dict[str, tuple[str, str]] = field(default_factory=dict)
    _remembered: dict[bytes, float] = field(default_factory=dict, repr=False)
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check_password(self, name: str, password: str) -> Principal | None:
        """The user if `password` is theirs, else None (in the same time for an unknown name)."""
        known = self.passwords.get(name)
        mark = hmac.new(self._key, f"{name}\0{password}".encode("utf-8", "surrogatepass"), "sha256").digest()
        with self._lock:
            until = self._remembered.get(mark, 0.0)
        if known is not None and until > time.monotonic():
            return Principal(name, known[0], "user")
        if not _verify(known[1] if known else _dummy_hash(), password) or known is None:
            return None
        with self._lock:
            if len(self._remembered) >= REMEMBER_MAX:
                self._remembered.clear()
            self._remembered[mark] = time.monotonic() + REMEMBER_SECONDS
        return Principal(name, known[0], "user")

    def check_token(self, token: str) -> Principal | None:
        found = self.tokens.get(token_digest(token))
        return Principal(found[0], found[1], "token") if found else None


def parse_users(text: str, source: str) -> Users:
    """Users and tokens from `text` (the file's content, or the variable's); `source` names it in errors."""
    users = Users()
    names: set[tuple[str, str]] = set()
    for number, raw in enumerate(re.split(r"[\n;]", text), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        where = f"{source} entry {number}" if source == "DASHBOARD_USERS" else f"{source} line {number}"
        parts = line.split()
        if len(parts) != 4:
            raise ConfigError(f"{where}: expected `user|token NAME ROLE HASH` (4 fields, got {len(parts)})")
        kind, name, role, secret = parts
        if kind not in KINDS:
            raise ConfigError(f"{where}: unknown kind {kind[:20]!r}: expected user or token")
        if not NAME.match(name):
            raise ConfigError(f"{where}: bad name {name[:70]!r}: letters, digits and _.@+- only, at most 64")
        if role not in ROLES:
            raise ConfigError(f"{where}: unknown role {role[:20]!r} for {name}: expected {', '.join(ROLES)}")
        if (kind, name) in names:
            raise ConfigError(f"{where}: {kind} {name} is given twice")
        names.add((kind, name))
        if kind == "user":
            if not _is_argon2(secret):
                raise ConfigError(
                    f"{where}: the password of {name} is not an Argon2 hash (value not shown): "
                    "make one with `rq-dlq user hash`"
                )
            users.passwords[name] = (role, secret)
        else:
            if not TOKEN_DIGEST.match(secret):
                raise ConfigError(
                    f"{where}: the token of {name} is not sha256:<64 hex digits> (value not shown): "
                    "make one with `rq-dlq user token`"
                )
            users.tokens[secret.removeprefix("sha256:")] = (name, role)
    return users


def load_users(users_file: str | None, users_text: str | None) -> Users:
    """DASHBOARD_USERS_FILE and/or DASHBOARD_USERS; an unreadable file is a `ConfigError`."""
    users = Users()
    if users_file:
        try:
            content = Path(users_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
            raise ConfigError(f"DASHBOARD_USERS_FILE={users_file!r}: cannot read it: {reason}") from None
        users = parse_users(content, f"DASHBOARD_USERS_FILE {users_file}")
    if users_text:
        more = parse_users(users_text, "DASHBOARD_USERS")
        for name in set(more.passwords) & set(users.passwords):
            raise ConfigError(f"DASHBOARD_USERS: user {name} is also in DASHBOARD_USERS_FILE")
        users.passwords.update(more.passwords)
        users.tokens.update(more.tokens)
    return users


def hash_password(password: str) -> str:
    """An Argon2id hash of `password` (argon2-cffi's recommended parameters)."""
    return _hasher().hash(password)


def new_token() -> tuple[str, str]:
    """A random API token and the `sha256:...` digest to put in the users file."""
    token = secrets.token_urlsafe(32)
    return token, f"sha256:{token_digest(token)}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _is_argon2(secret: str) -> bool:
    if not secret.startswith(ARGON2_PREFIX):
        return False
    try:
        from argon2 import extract_parameters

        extract_parameters(secret)
    except ImportError:
        return True  # checked when the dashboard starts, which needs the web extra
    except Exception:  # noqa: BLE001 - argon2 raises InvalidHashError (a ValueError) and others
        return False
    return True


def _verify(hashed: str, password: str) -> bool:
    from argon2.exceptions import Argon2Error, InvalidHashError

    try:
        return bool(_hasher().verify(hashed, password))
    except (Argon2Error, InvalidHashError):
        return False


_HASHER: Any = None
_DUMMY: list[str] = []


def _hasher() -> Any:
    global _HASHER
    if _HASHER is None:
        from argon2 import PasswordHasher

        _HASHER = PasswordHasher()
    return _HASHER


def _dummy_hash() -> str:
    """A hash to check an unknown user's password against, so that it takes as long as a wrong one."""
    if not _DUMMY:
        _DUMMY.append(_hasher().hash(secrets.token_hex(16)))
    return _DUMMY[0]
