"""Synthetic failed jobs and DLQ entries, made fast (pipelined) and realistic in size."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

from redis import Redis
from rq import Callback, Queue
from rq.job import Job, JobStatus

from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.handler import on_failure
from failure_handlers.jobs.snapshot import take_snapshot
from failure_handlers.recording.failure_record import iso
from failure_handlers.recording.fingerprint import fingerprint

FUNCS = ["worker_tasks.example_tasks.import_invoice", "worker_tasks.downloads.download_content"]
EXCEPTIONS = [
    ("worker_tasks.example_tasks.InvoiceRejected", "invoice INV-{n} has no customer number",
     "example_tasks.py:import_invoice"),
    ("requests.exceptions.ConnectionError",
     "HTTPConnectionPool(host='10.0.0.{m}', port=443): Max retries exceeded", "downloads.py:download_content"),
    ("KeyError", "'sku-{n}'", "inventory.py:reserve"),
    ("TimeoutError", "upstream took {n} ms", "billing.py:charge"),
]  # fmt: skip


def traceback_text(exc_type: str, message: str, frames: int = 10) -> str:
    """A typical 10-frame traceback (about 1.5 KB)."""
    lines = ["Traceback (most recent call last):"]
    for depth in range(frames):
        lines.append(f'  File "/srv/app/worker_tasks/module_{depth}.py", line {40 + depth}, in step_{depth}')
        lines.append(f"    result = step_{depth + 1}(payload, options)")
    lines.append(f"{exc_type}: {message}")
    return "\n".join(lines) + "\n"


def make_failed_jobs(connection: Redis, queue: str, count: int, dlq: DeadLetterQueue | None = None) -> list[str]:
    """`count` jobs that look exhausted-and-failed to RQ (hash + FailedJobRegistry), oldest first;
    with `dlq`, each also gets its DLQ entry."""
    registry_key = Queue(queue, connection=connection).failed_job_registry.key
    ids: list[str] = []
    now = time.time()
    for chunk in _chunks(range(count), 1_000):
        entries = []
        with connection.pipeline(transaction=False) as pipe:
            for n in chunk:
                job = _failed_job(connection, queue, n)
                job.save(pipeline=pipe)
                pipe.zadd(registry_key, {job.id: now + 365 * 86400})
                ids.append(job.id)
                if dlq is not None:
                    entries.append(dead_entry_for(job, n, failed_at=now - (count - n) * 0.01))
            pipe.execute()
        if dlq is not None:
            dlq.add_many(entries)
    return ids


def make_entries(count: int) -> Iterator[DeadLetterEntry]:
    """DLQ entries only (no RQ jobs), oldest first."""
    now = time.time()
    for n in range(count):
        yield dead_entry_for(None, n, failed_at=now - (count - n) * 0.01)


def dead_entry_for(job: Job | None, n: int, failed_at: float) -> DeadLetterEntry:
    exc_type, template, origin = EXCEPTIONS[n % len(EXCEPTIONS)]
    message = template.format(n=n, m=n % 250)
    return DeadLetterEntry(
        job_id=job.id if job else str(uuid.uuid4()),
        func_name=FUNCS[n % len(FUNCS)],
        queue=job.origin if job else ("default" if n % 3 else "billing"),
        args=f'["INV-{n}"]',
        kwargs='{"priority": "normal", "api_key": "***"}',
        exc_type=exc_type,
        exc_message=message,
        traceback=traceback_text(exc_type, message),
        attempts=4,
        max_retries=3,
        enqueued_at=iso(job.enqueued_at) if job else "2026-11-22T08:00:00.000Z",
        failed_at=iso_from_epoch(failed_at),
        worker="worker-7f3c9a",
        reason="retries exhausted",
        failures="[]",
        fingerprint=fingerprint(exc_type, message, origin),
        origin=origin,
        job_snapshot=take_snapshot(job) if job else "",
    )


def iso_from_epoch(moment: float) -> str:
    from datetime import UTC, datetime

    return iso(datetime.fromtimestamp(moment, UTC))


def _failed_job(connection: Redis, queue: str, n: int) -> Job:
    job = Job.create(
        func=FUNCS[0],
        args=(f"INV-{n}",),
        connection=connection,
        origin=queue,
        on_failure=Callback(on_failure),
        status=JobStatus.FAILED,
    )
    job.meta = {"max_retries": 3}
    job.retries_left = 0
    job.retry_intervals = [30, 60, 120]
    return job


def _chunks(items: range, size: int) -> Iterator[range]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
