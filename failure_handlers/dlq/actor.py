"""Who changed a dead-lettering's outcome: the `by` that the DLQ's write scripts put in the archive's
events, recorded in its `outcome_by` column."""

from __future__ import annotations

import getpass
import socket


def actor(tool: str) -> str:
    """`rq-dlq purge (alice@ops-1)`: the tool, and the OS user and host it ran as."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "?"
    return f"{tool} ({user}@{socket.gethostname()})"
