"""Who acted: resolved in one place for every entry point.

- the CLI and the Python API: the OS user and host (`alice@ops-1`), via `cli` or `python`;
- the dashboard: the Basic user (a DASHBOARD_USERS name, or DASHBOARD_AUTH's user), via `dashboard`;
- the API: the token's name (`DASHBOARD_API_TOKEN` for the single legacy token), via `api`.
The web side builds its `Actor` in `web/principals.py` from the authenticated principal.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass

VIAS = ("cli", "dashboard", "api", "python")


@dataclass(frozen=True)
class Actor:
    name: str  # alice@ops-1, alice, deploy-bot
    via: str  # one of VIAS
    role: str = ""  # viewer, operator, admin (dashboard and API); "" for the CLI and Python
    address: str = ""  # the client's address (dashboard and API)

    def label(self) -> str:
        """`alice (dashboard, operator, 10.0.0.5)`: the archive's `outcome_by`, one line."""
        details = ", ".join(part for part in (self.via, self.role, self.address) if part)
        return f"{self.name} ({details})"

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "via": self.via, "role": self.role, "address": self.address}


def os_user() -> str:
    """`alice@ops-1`: the OS user and host this process runs as."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{user}@{socket.gethostname()}"


def os_actor(via: str = "cli") -> Actor:
    """The actor of a command or a Python call: the OS user and host."""
    return Actor(os_user(), via)
