"""A task for the browser test (imported by real workers: the project root is on their path)."""

from __future__ import annotations

from rq import get_current_job

from failure_handlers import PermanentError


class ExportNotReady(PermanentError):
    """Permanent: the job goes straight to the DLQ, to be requeued once the fix is out."""


def export_when_ready(flag_key: str) -> str:
    """Fails until `flag_key` exists in Redis (the test sets it: "the fix is deployed")."""
    connection = get_current_job().connection
    if not connection.exists(flag_key):
        raise ExportNotReady(f"the monthly export is not ready: {flag_key} is missing")
    return "exported"
