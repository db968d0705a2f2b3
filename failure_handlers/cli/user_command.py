"""`rq-dlq user hash` and `rq-dlq user token`: the lines of DASHBOARD_USERS_FILE (web/users.py).

The password is asked twice without echo (or read from stdin), never taken as an argument: it
would stay in the shell's history and in `ps`."""

from __future__ import annotations

import click

from failure_handlers.errors import OperatorError
from failure_handlers.web.roles import ROLES
from failure_handlers.web.users import NAME, hash_password, new_token


@click.group()
def user() -> None:
    """Make the lines of the dashboard's users file (DASHBOARD_USERS_FILE): users and API tokens with roles."""


@user.command("hash")
@click.option("--name", help="Print the whole users-file line for this user (else only the hash).")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True, help="With --name.")
def hash_command(name: str | None, role: str) -> None:
    """Hash a password (Argon2id) for a dashboard user."""
    _check_name(name)
    password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    if not password:
        raise OperatorError("the password is empty")
    hashed = _hash(password)
    click.echo(f"user {name} {role} {hashed}" if name else hashed)


@user.command("token")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="operator", show_default=True)
def token_command(name: str, role: str) -> None:
    """Make a random API token for NAME: the token (give it to the client, shown once) on stderr,
    the users-file line (its SHA-256 only) on stdout."""
    _check_name(name)
    token, digest = new_token()
    click.echo(f"API token for {name} (shown once; send it as Authorization: Bearer <token>): {token}", err=True)
    click.echo(f"token {name} {role} {digest}")


def _check_name(name: str | None) -> None:
    if name is not None and not NAME.match(name):
        raise click.BadParameter("letters, digits and _.@+- only, at most 64", param_hint="NAME")


def _hash(password: str) -> str:
    try:
        return hash_password(password)
    except ImportError:
        raise OperatorError("hashing needs the web extra (argon2-cffi): pip install 'rq-dead-letter[web]'") from None
