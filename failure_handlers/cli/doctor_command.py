"""`rq-dlq doctor`: is this Redis ready for production? One line per check; exit 0 OK, 1 WARN, 2 FAIL."""

from __future__ import annotations

import json

import click

from failure_handlers import runtime
from failure_handlers.cli.operator import note_default_url, operator
from failure_handlers.operations.doctor import examine, exit_status
from failure_handlers.storage.acl import ROLES


@click.command()
@click.option("--role", type=click.Choice(list(ROLES)), help="Check that the ACL user may do what this role does.")
@click.option("--acl-user", help="With --role: check this ACL user instead of REDIS_URL's (needs ACL DRYRUN).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (status, exit, checks) for machines.")
def doctor(role: str | None, acl_user: str | None, as_json: bool) -> int:
    """Check the server before going live: reachable, version, maxmemory-policy, persistence, replicas,
    scheduler, reconciler, ACL (--role), clock skew. Only reads. Exit 0 all OK, 1 warnings, 2 a failure.
    """
    if acl_user and not role:
        raise click.UsageError("--acl-user needs --role")
    settings = operator().settings
    note_default_url(settings)
    findings = examine(settings, runtime.connect, role=role, acl_user=acl_user)
    status = exit_status(findings)
    if as_json:
        worst = ("OK", "WARN", "FAIL")[status]
        click.echo(json.dumps({"status": worst, "exit": status, "checks": [f.as_dict() for f in findings]}))
    else:
        for finding in findings:
            click.echo(finding.line())
    return status
