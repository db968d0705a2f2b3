"""Delete a bounded list of dead jobs and report deleted / skipped / errors.

The dashboard and its API act on an id list fixed when the operator confirmed (or when the API
request arrived), never on a filter re-evaluated while the action runs. Delete goes through
`delete_dead_jobs`, like `rq-dlq delete`; requeue through `requeue_run.requeue_jobs`, like `rq-dlq requeue`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from redis import Redis

from failure_handlers.audit import Actor, AuditLog, os_actor
from failure_handlers.audit.reports import record_run
from failure_handlers.dlq.store import SCAN_BATCH, DeadLetterQueue
from failure_handlers.operations.delete import delete_dead_jobs
from failure_handlers.operations.report import BulkReport
from failure_handlers.operations.requeue import Result

GONE = "no longer in the DLQ (requeued, deleted or expired since it was selected)"


def delete_ids(
    connection: Redis,
    dlq: DeadLetterQueue,
    job_ids: Sequence[str],
    keep_job: bool = False,
    dry_run: bool = False,
    by: str | None = None,
    audit: AuditLog | None = None,
    actor: Actor | None = None,
    what: str = "",
) -> BulkReport:
    """Delete the entries of `job_ids` still in the DLQ (and their RQ jobs unless `keep_job`).

    An id whose entry is gone is skipped, and its RQ job left alone: it may be live again.
    A real run is recorded in the audit log as `delete` (`dismiss` with `keep_job`), as
    `requeue_run.requeue_jobs` records a requeue.
    """
    started = time.monotonic()
    actor = actor or os_actor("python")
    by = by or actor.label()  # the archive's outcome_by
    ids = list(dict.fromkeys(job_ids))
    report = BulkReport("delete", dry_run, len(ids))
    for start in range(0, len(ids), SCAN_BATCH):
        chunk = ids[start : start + SCAN_BATCH]
        present = []
        for job_id, entry in zip(chunk, dlq.get_many(chunk), strict=True):
            if entry is None:
                report.note(job_id, Result.SKIPPED, GONE)
            else:
                present.append(job_id)
        report.done += len(present) if dry_run else delete_dead_jobs(connection, dlq, present, keep_job=keep_job, by=by)
    report.seconds = time.monotonic() - started
    if not dry_run:
        log = audit or AuditLog(connection, dlq.keys.prefix, archive_maxlen=dlq.archive_maxlen)
        record_run(log, "dismiss" if keep_job else "delete", actor, ids, report, what)
    return report
