"""One requeue run over job ids already chosen: the one orchestration behind `rq-dlq requeue`, the
dashboard's and the API's bulk requeue, and Python callers.

The run gives back the jobs of a requeue that died half-way (`dlq.claims.release_stale`; not in a
dry run, which changes nothing), then goes through the ids in batches, each one claim and one
MULTI (`Requeuer.requeue`; `Requeuer.plan` in a dry run), and counts every outcome into a
`BulkReport`. Callers watch through hooks: `on_outcome` for every job (the CLI prints its
lines), `on_batch(done, total)` after every batch (the CLI's progress bar), `on_progress(report)`
after every batch with the counts so far (the dashboard's background runs, `operations/bulk_runs.py`),
and `stop()`, asked before every batch: True ends the run there, cancelled (what was done stays
done; the rest is untouched, and the report and the audit record say so).

The ids are used as given, in order (the callers select them oldest failure first, newest first
for `at_front`), without duplicates. A job that fails again while the run goes on is not picked up
a second time: the run never re-evaluates a filter.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq.serializers import Serializer

from failure_handlers.audit import Actor, AuditLog, os_actor
from failure_handlers.audit.reports import record_run
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.report import BulkReport
from failure_handlers.operations.requeue import Outcome, Requeuer

REQUEUE_BATCH = 500  # jobs per claim + MULTI (`rq-dlq requeue --batch`'s default)


@dataclass(frozen=True)
class RequeueOptions:
    """How a requeue run goes. The first four are the deployment's settings, as plain values that
    each caller reads from its own settings (required: none can be forgotten)."""

    retries: int  # the fresh retry budget: RETRY_MAX, or `--retries`
    intervals: Sequence[int]  # RETRY_INTERVALS, for jobs that have none of their own
    max_label_values: int  # METRICS_MAX_LABEL_VALUES: the `queue` label of rq_jobs_requeued_total
    serializer_name: str  # RQ_SERIALIZER: how to decode arguments for the idempotency check
    at_front: bool = False  # ahead of the queue's waiting jobs (still in the order given)
    force: bool = False  # also requeue (and re-run) jobs whose idempotency key is already done
    dry_run: bool = False  # plan only: say what would be requeued, change nothing
    batch: int = REQUEUE_BATCH  # jobs per claim + MULTI
    rate: float | None = None  # at most this many jobs per second
    by: str | None = None  # who requeues, for the archive (default: `requeue (user@host)`)

    def requeuer(
        self,
        connection: Redis,
        dlq: DeadLetterQueue,
        serializer: Serializer | None = None,
        requeuer_class: type[Requeuer] = Requeuer,
        **overrides: Any,
    ) -> Requeuer:
        """The `Requeuer` (or a subclass: the replay's) these options describe; `overrides` win."""
        values: dict[str, Any] = {
            "max_label_values": self.max_label_values,
            "serializer_name": self.serializer_name,
            "at_front": self.at_front,
            "serializer": serializer,
            "force": self.force,
            "by": self.by,
            **overrides,
        }
        return requeuer_class(connection, dlq, self.retries, self.intervals, **values)


def requeue_jobs(
    connection: Redis,
    dlq: DeadLetterQueue,
    job_ids: Sequence[str],
    options: RequeueOptions,
    serializer: Serializer | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_batch: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    audit: AuditLog | None = None,
    actor: Actor | None = None,
    what: str = "",
    on_progress: Callable[[BulkReport], None] | None = None,
    stop: Callable[[], bool] | None = None,
    record: bool = True,
) -> BulkReport:
    """Requeue `job_ids` (in order), each exactly once, and report requeued / skipped / errors.

    `on_outcome(outcome)` is called for every job, `on_batch(done, total)` and `on_progress(report)`
    after every batch; `stop()` before every batch (True: the run ends there, `report.cancelled`).
    `record=False`: the caller records the run in the audit log itself (`operations/bulk_runs.py`).
    `clock` and `sleep` pace `options.rate` (tests pass their own). A real run (not a dry run) is
    recorded in the audit log: `audit` (default: this DLQ's, untrimmed), by `actor` (default: the OS
    user, via `python`), `what` saying how the ids were chosen.
    """
    started = clock()
    ids = list(dict.fromkeys(job_ids))
    report = BulkReport("requeue", options.dry_run, len(ids))
    if not options.dry_run:
        dlq.claims.release_stale()  # a requeue that died half-way gives its jobs back
    requeuer = options.requeuer(connection, dlq, serializer)
    size = batch_size(options.batch, options.rate)
    for start in range(0, len(ids), size):
        if stop is not None and stop():
            report.cancelled = True
            break
        chunk = ids[start : start + size]
        for outcome in requeuer.plan(chunk) if options.dry_run else requeuer.requeue(chunk):
            report.count(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
        done = report.processed = start + len(chunk)
        if on_batch is not None:
            on_batch(done, len(ids))
        if on_progress is not None:
            on_progress(report)
        if wait := pause(done, clock() - started, options.rate):
            sleep(wait)
    report.seconds = clock() - started
    if record and not options.dry_run:
        log = audit or AuditLog(connection, dlq.keys.prefix, archive_maxlen=dlq.archive_maxlen)
        record_run(log, "requeue", actor or os_actor("python"), ids, report, what)
    return report


def batch_size(batch: int, rate: float | None) -> int:
    """With a rate, at most a second's worth of jobs per batch (at least one), so the pace is even."""
    return min(batch, max(1, int(rate))) if rate else batch


def pause(done: int, elapsed: float, rate: float | None) -> float:
    """Seconds to wait after `done` jobs so that they took at least `done / rate` seconds in all."""
    return max(0.0, done / rate - elapsed) if rate else 0.0
