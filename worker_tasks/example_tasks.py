"""Small tasks that show the three fates of a job: succeeds, fails then succeeds, fails for good."""

from __future__ import annotations

from rq import get_current_job

from failure_handlers import PermanentError
from failure_handlers.storage.keys import META_FAILURES


class InvoiceRejected(PermanentError):
    """The invoice is invalid; no retry will fix it."""


def add(left: int, right: int) -> int:
    """Always succeeds."""
    return left + right


def flaky_sync(succeed_on_attempt: int = 3) -> str:
    """Fails with `ConnectionError` until its `succeed_on_attempt`-th run, then succeeds.

    It counts its own earlier failures from `job.meta["failures"]`, which the failure handler
    keeps, so the behaviour is deterministic across worker processes.
    """
    job = get_current_job()
    failures = len(job.meta.get(META_FAILURES, [])) if job else 0
    attempt = failures + 1
    if attempt < succeed_on_attempt:
        raise ConnectionError(f"upstream unavailable (attempt {attempt}, succeeds on {succeed_on_attempt})")
    return f"synced on attempt {attempt}"


def import_invoice(invoice_id: str) -> None:
    """Always fails permanently: the failure handler skips the retries."""
    raise InvoiceRejected(f"invoice {invoice_id} has no customer number")
