"""Who may do what on the dashboard and its API: three roles, each allowed what the one below may,
and more. Pure code (no Flask), tested without a server.

- viewer: read every page and the API (the audit log included);
- operator: also requeue, replay, pause and resume a queue;
- admin: also delete, dismiss (delete keeping the RQ job) and purge.

The single-user DASHBOARD_AUTH and DASHBOARD_API_TOKEN are admins; an unauthenticated dashboard on a
loopback address (no credentials configured at all) acts as an admin too, as it always did.
"""

from __future__ import annotations

ROLES = ("viewer", "operator", "admin")
READ = "read"
OPERATOR_ACTIONS = frozenset({"requeue", "replay", "pause", "resume"})
ADMIN_ACTIONS = frozenset({"delete", "dismiss", "purge"})
ALLOWED: dict[str, frozenset[str]] = {
    "viewer": frozenset({READ}),
    "operator": frozenset({READ}) | OPERATOR_ACTIONS,
    "admin": frozenset({READ}) | OPERATOR_ACTIONS | ADMIN_ACTIONS,
}
ACTIONS = OPERATOR_ACTIONS | ADMIN_ACTIONS


def may(role: str, action: str) -> bool:
    """Whether `role` may do `action`; an unknown role or action may nothing."""
    return action in ALLOWED.get(role, frozenset())


def may_act(role: str) -> bool:
    """Whether `role` may do any action at all (a viewer may not)."""
    return bool(ALLOWED.get(role, frozenset()) & ACTIONS)


def least_role(action: str) -> str:
    """The lowest role allowed `action` (for the 403 message)."""
    return next((role for role in ROLES if may(role, action)), "admin")


def refusal(role: str, action: str) -> str:
    """`your role (viewer) may not requeue: it needs operator or admin`."""
    needed = ROLES[ROLES.index(least_role(action)) :]
    return f"your role ({role}) may not {action}: it needs {' or '.join(needed)}"
