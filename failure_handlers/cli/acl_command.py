"""`rq-dlq acl`: the least-privilege `ACL SETUSER` line of each role (`storage/acl.py`); needs no Redis."""

from __future__ import annotations

import click

from failure_handlers.cli.operator import operator
from failure_handlers.storage.acl import PASSWORD_PLACEHOLDER, ROLES


@click.command()
@click.argument("role", required=False, type=click.Choice(list(ROLES)))
@click.option("--prefix", help="The DLQ_PREFIX the lines are for (default: DLQ_PREFIX's setting).")
@click.option("--verbose", "-v", is_flag=True, help="Say above each line what runs as that role.")
def acl(role: str | None, prefix: str | None, verbose: bool) -> None:
    """Print the ACL SETUSER line of ROLE (of every role by default), for redis-cli.

    Replace PASSWORD; each line starts with `reset`, so running it again leaves exactly this ACL.
    Roles: worker, reconciler, operator, viewer, archiver, notifier (docs/production-redis.md,
    "Least privilege").
    """
    if prefix is not None and (not prefix or "*" in prefix or any(char.isspace() for char in prefix)):
        raise click.BadParameter(f"{prefix!r}: a DLQ_PREFIX, without spaces or '*'", param_hint="--prefix")
    prefix = prefix or operator().settings.dlq.prefix
    for name in [role] if role else list(ROLES):
        if verbose:
            click.echo(f"# {name}: {ROLES[name].runs}")
        click.echo(ROLES[name].setuser_line(prefix, PASSWORD_PLACEHOLDER))
