"""Requeue or delete a bounded list of dead jobs and report requeued (deleted) / skipped / errors.

The dashboard and its API act on an id list fixed when the operator confirmed (or when the API
request arrived), never on a filter re-evaluated while the action runs: a job that fails again
during a bulk requeue is not picked up a second time. Requeue goes through the one exactly-once
`Requeuer` the CLI uses; delete through `discard`, like `rq-dlq delete`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from redis import Redis
from rq.serializers import Serializer

from failure_handlers.config import Settings
from failure_handlers.dlq.store import SCAN_BATCH, DeadLetterQueue
from failure_handlers.operations.discard import discard
from failure_handlers.operations.requeue import Requeuer, Result

REQUEUE_BATCH = 500  # jobs per claim + MULTI, as `rq-dlq requeue --batch` defaults
MAX_PROBLEMS = 1_000  # skipped/error details kept in a report; the counts stay exact
GONE = "no longer in the DLQ (requeued, deleted or expired since it was selected)"


@dataclass(frozen=True)
class Problem:
    job_id: str
    result: str  # "skipped" or "error"
    detail: str


@dataclass
class BulkReport:
    action: str  # "requeue" or "delete"
    dry_run: bool
    selected: int  # ids the action was bounded to
    done: int = 0  # requeued / deleted (or would be, in a dry run)
    skipped: int = 0
    errors: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS skips and errors
    seconds: float = 0.0

    def note(self, job_id: str, result: str, detail: str) -> None:
        if result == Result.ERROR:
            self.errors += 1
        else:
            self.skipped += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(job_id, str(result), detail))

    def line(self) -> str:
        """`requeued 3, skipped 0, errors 1 (0.01 s)`, the CLI's summary line."""
        verb = {"requeue": "requeued", "delete": "deleted"}[self.action]
        verb = f"would {self.action}" if self.dry_run else verb
        return f"{verb} {self.done}, skipped {self.skipped}, errors {self.errors} ({self.seconds:.2f} s)"

    def as_json(self) -> dict[str, object]:
        done_name = {"requeue": "requeued", "delete": "deleted"}[self.action]
        return {
            "action": self.action,
            "dry_run": self.dry_run,
            "selected": self.selected,
            ("would_" + self.action if self.dry_run else done_name): self.done,
            "skipped": self.skipped,
            "errors": self.errors,
            "problems": [problem.__dict__ for problem in self.problems],
            "problems_truncated": self.skipped + self.errors > len(self.problems),
            "seconds": round(self.seconds, 3),
            "summary": self.line(),
        }


def requeue_ids(
    connection: Redis,
    dlq: DeadLetterQueue,
    settings: Settings,
    job_ids: Sequence[str],
    serializer: Serializer | None = None,
    dry_run: bool = False,
    by: str = "dashboard",
) -> BulkReport:
    """Requeue exactly `job_ids` (oldest failure first, fresh `RETRY_MAX` budget), exactly once each."""
    started = time.monotonic()
    ids = list(dict.fromkeys(job_ids))
    report = BulkReport("requeue", dry_run, len(ids))
    if not dry_run:
        dlq.claims.release_stale()  # as `rq-dlq requeue` does: a requeue that died gives its jobs back
    requeuer = Requeuer(
        connection,
        dlq,
        settings.retry.max,
        settings.retry.intervals,
        serializer=serializer,
        serializer_name=settings.serializer,
        by=by,
    )
    for start in range(0, len(ids), REQUEUE_BATCH):
        chunk = ids[start : start + REQUEUE_BATCH]
        for outcome in requeuer.plan(chunk) if dry_run else requeuer.requeue(chunk):
            if outcome.result in (Result.REQUEUED, Result.WOULD_REQUEUE):
                report.done += 1
            else:
                report.note(outcome.job_id, outcome.result, outcome.detail)
    report.seconds = time.monotonic() - started
    return report


def delete_ids(
    connection: Redis,
    dlq: DeadLetterQueue,
    job_ids: Sequence[str],
    keep_job: bool = False,
    dry_run: bool = False,
    by: str = "dashboard",
) -> BulkReport:
    """Delete the entries of `job_ids` still in the DLQ (and their RQ jobs unless `keep_job`).

    An id whose entry is gone is skipped, and its RQ job left alone: it may be live again.
    """
    started = time.monotonic()
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
        report.done += len(present) if dry_run else discard(connection, dlq, present, keep_job=keep_job, by=by)
    report.seconds = time.monotonic() - started
    return report
