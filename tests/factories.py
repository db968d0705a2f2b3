"""Build DLQ entries for tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from failure_handlers.dlq.entry import DeadLetterEntry

BASE_TIME = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def dead_entry(job_id: str = "job-1", minutes_ago: float = 0, **fields) -> DeadLetterEntry:
    failed_at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    entry = DeadLetterEntry(
        job_id=job_id,
        func_name="worker_tasks.example_tasks.import_invoice",
        queue="default",
        args='["INV-1"]',
        kwargs="{}",
        exc_type="worker_tasks.example_tasks.InvoiceRejected",
        exc_message="invoice INV-1 has no customer number",
        traceback="Traceback (most recent call last):\n  ...\nInvoiceRejected: invoice INV-1",
        attempts=1,
        max_retries=3,
        enqueued_at=BASE_TIME.isoformat(),
        failed_at=failed_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        worker="worker-1",
        reason="permanent",
    )
    return replace(entry, **fields)
