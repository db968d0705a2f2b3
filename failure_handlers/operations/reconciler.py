"""Make RQ's failed registries and the DLQ agree: nothing that failed may be missing from the DLQ.

The failure handler writes the DLQ entry in the common case. RQ fails some jobs without calling
it: a killed work-horse (SIGKILL, OOM), a job stopped by an operator, an abandoned job cleaned up
by a process that cannot import the handler. A pass of the reconciler, for every queue:

1. runs RQ's cleanup of abandoned jobs (jobs whose worker stopped heart-beating), which calls our
   callback or worker-side handler in this process, so they are retried or dead-lettered now
   rather than ~10 min later; and RQ's cleanup of its intermediate queue (jobs a worker dequeued
   but was killed before it registered them as started), which RQ itself runs only in a worker's
   maintenance, at start and every 10 minutes (docs/rq-behaviour.md#abandoned-jobs-and-registry-cleanup);
2. gives every job in the FailedJobRegistry without a DLQ entry one, built from the job hash,
   its `job.meta` and the runs RQ recorded in its results (`recording/recovered.py`), unless an
   operator dismissed it;
3. removes the entries of jobs that are live again (requeued by `rq requeue`, rq-dashboard...).

A pass is idempotent and safe to run from many processes at once: an entry is written only if the
job is still in its failed registry at that moment (checked inside the write script), and writing
the same entry twice stores it once. An incremental pass looks at the newest `window` jobs per
failed registry and the newest `window` entries; a full pass looks at everything, in batches.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import SupportsIndex, SupportsInt

from loguru import logger
from redis import Redis
from redis.exceptions import NoPermissionError, RedisError
from rq import Queue, SimpleWorker
from rq.job import JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import Serializer

from failure_handlers.config import Settings
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import SCAN_BATCH, DeadLetterQueue
from failure_handlers.dlq.text import member_list
from failure_handlers.integration.worker import record_failure
from failure_handlers.jobs.safe_reader import UNDECODED, StoredJob, read_jobs
from failure_handlers.jobs.status import job_statuses
from failure_handlers.jobs.torn_retries import repair_torn_retries
from failure_handlers.metrics import counters
from failure_handlers.operations.maintenance_lock import MaintenanceLock
from failure_handlers.operations.reconciler_health import record_pass
from failure_handlers.recording.entry_builder import build_entry
from failure_handlers.recording.recovered import recover_failure
from failure_handlers.redaction import redact_url
from failure_handlers.storage.keys import META_FAILURES, META_FAILURES_DROPPED, META_MAX_RETRIES, META_REQUEUE_COUNT

INCREMENTAL_WINDOW = 200
LIVE_STATUSES = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.FINISHED, JobStatus.CANCELED}
DEAD_STATUSES = {JobStatus.FAILED, JobStatus.STOPPED}


@dataclass
class ReconcileReport:
    queues: int = 0
    checked: int = 0  # failed jobs looked at
    added: int = 0  # DLQ entries written for failed jobs that had none
    removed: int = 0  # DLQ entries of jobs that are live again
    indexed: int = 0  # entries written to the search index (dlq/search_index.py)

    def line(self) -> str:
        indexed = f", {self.indexed} indexed for search" if self.indexed else ""
        return (
            f"reconciled {self.queues} queues: {self.checked} failed jobs checked, "
            f"{self.added} DLQ entries added, {self.removed} entries of requeued jobs removed{indexed}"
        )

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(frozen=True)
class Backlog:
    """What a reconciliation pass would change, counted without changing it (see `Reconciler.backlog`)."""

    missing: int  # failed jobs without a DLQ entry that a pass would dead-letter
    live: int  # entries whose jobs are live again (requeued by another tool) that a pass would remove
    dangling: int  # index members without an entry hash (still counted by `stats`) that a pass would prune

    def line(self) -> str:
        """One line for the read-only commands and pages; empty when a pass would change nothing."""
        parts = []
        if self.missing:
            parts.append(f"{self.missing} failed {_jobs(self.missing)} not in the DLQ yet")
        if self.live:
            parts.append(f"{self.live} {_entries(self.live)} of requeued jobs still in the DLQ")
        if self.dangling:
            parts.append(f"{self.dangling} {_entries(self.dangling)} gone from Redis but still indexed")
        return f"{' and '.join(parts)}: run rq-dlq reconcile" if parts else ""

    def as_json(self) -> dict[str, int]:
        return {
            "failed_jobs_without_entry": self.missing,
            "entries_of_live_jobs": self.live,
            "indexed_entries_gone": self.dangling,
        }


class Reconciler:
    def __init__(
        self,
        connection: Redis,
        dlq: DeadLetterQueue,
        settings: Settings,
        serializer: Serializer | None = None,
        window: int = INCREMENTAL_WINDOW,
        clean_abandoned: bool = True,
    ) -> None:
        self.connection = connection
        self.dlq = dlq
        self.settings = settings
        self.serializer = serializer
        self.window = window
        self.clean_abandoned = clean_abandoned

    def run(self, full: bool = False, index_search: bool = False) -> ReconcileReport:
        """One pass over every queue (see the module docstring); returns what it did. `index_search`
        (the `reconcile` command and `--watch`; not the pass before an operator's command): then also
        refresh the search index (`dlq/search_index.py`)."""
        report = ReconcileReport()
        for queue in Queue.all(connection=self.connection, serializer=self.serializer):
            report.queues += 1
            if self.clean_abandoned:
                self._clean_abandoned(queue)
                self._clean_intermediate(queue)
            registry = queue.failed_job_registry
            for job_ids in self._failed_pages(registry.key, full):
                report.checked += len(job_ids)
                report.added += self._add_missing(job_ids, registry.key)
        report.removed = self._remove_live_entries(full)
        if full:
            self._prune_dismissed()
        if index_search:
            report.indexed = self.dlq.search_index.refresh()
        return report

    def backlog(self) -> Backlog:
        """What an incremental pass would change now, counted with reads only (no cleanup, no write):
        the note of the read-only commands and pages, for a user that may not write."""
        missing = 0
        for queue in Queue.all(connection=self.connection, serializer=self.serializer):
            for job_ids in self._failed_pages(queue.failed_job_registry.key, full=False):
                missing += len(self._missing_jobs(job_ids))
        live = self._live_entry_ids(full=False, prune=False)
        return Backlog(missing, len(live), len(self.dlq.dangling(self.window)))

    # -- 1. abandoned jobs ---------------------------------------------------------------------

    def _clean_abandoned(self, queue: Queue) -> None:
        try:
            repair_torn_retries(queue, self.serializer)  # before RQ's cleanup drops them (jobs/torn_retries.py)
            # RQ calls the job's callback and these handlers for each abandoned job (docs/rq-behaviour.md):
            # a job enqueued without our callback is recorded by the worker-side handler, as in a worker.
            StartedJobRegistry(queue=queue).cleanup(exception_handlers=[record_failure])
        except NoPermissionError:
            raise  # the user of REDIS_URL may not reconcile: one line at the command's edge
        except Exception:  # noqa: BLE001 - one queue's bad job must not stop the pass
            logger.opt(exception=True).warning("Cleanup of abandoned jobs in queue {!r} failed", queue.name)

    def _clean_intermediate(self, queue: Queue) -> None:
        """RQ 3.0's own cleanup, under the queue's maintenance lock (`MaintenanceLock`): a job in the
        intermediate queue but not started is marked on the first pass and failed (retried if it has
        retries left, else dead-lettered by step 2) on a pass more than a minute later."""
        lock = MaintenanceLock(self.connection, self.dlq.keys.prefix, queue.registry_cleaning_key)
        try:
            if not lock.take():
                return  # a worker is cleaning this queue right now
            try:
                maintainer = SimpleWorker([queue], connection=self.connection, serializer=self.serializer)
                queue.intermediate_queue.cleanup(maintainer, queue)
            finally:
                lock.release()
        except NoPermissionError:
            raise
        except Exception:  # noqa: BLE001 - one queue's bad job must not stop the pass
            logger.opt(exception=True).warning("Cleanup of the intermediate queue of {!r} failed", queue.name)

    # -- 2. failed jobs without an entry -------------------------------------------------------

    def _failed_pages(self, registry_key: str, full: bool) -> Iterator[list[str]]:
        if not full:
            yield member_list(self.connection.zrevrange(registry_key, 0, self.window - 1))
            return
        position = 0
        while page := member_list(self.connection.zrange(registry_key, position, position + SCAN_BATCH - 1)):
            yield page
            position += len(page)

    def _add_missing(self, job_ids: Sequence[str], registry_key: str) -> int:
        entries = [self._recovered_entry(job) for job in self._missing_jobs(job_ids)]
        if not entries:
            return 0
        written = self.dlq.add_many(
            entries, only_if_in=[registry_key] * len(entries), counts=[self._counted(entry) for entry in entries]
        )
        for entry, result in zip(entries, written, strict=True):
            if result >= 0:
                logger.bind(job_id=entry.job_id, reason=entry.reason).error(
                    "Job {} failed without the failure handler ({}), moved to DLQ: {}: {}",
                    entry.job_id,
                    entry.reason,
                    entry.exc_type,
                    entry.exc_message,
                )
        return sum(1 for result in written if result >= 0)

    def _missing_jobs(self, job_ids: Sequence[str]) -> list[StoredJob]:
        """The jobs among `job_ids` a pass would dead-letter: dead, without an entry, not dismissed by
        an operator, within the DLQ's retention and not older than what a full DLQ keeps. Reads only."""
        absent = self.dlq.absent(job_ids)
        if not absent:
            return []
        dismissed_at = dict(absent)
        jobs = read_jobs(self.connection, [job_id for job_id, _ in absent], self.settings.serializer)
        oldest_kept = self.dlq.oldest_if_full()
        cutoff = time.time() - self.dlq.ttl_seconds
        missing = []
        for job in jobs:
            if job is None or job.status not in DEAD_STATUSES:
                continue
            failed_at = job.ended_at.timestamp() if job.ended_at else time.time()
            dismissed = dismissed_at[job.id]
            if (dismissed is not None and failed_at <= dismissed) or failed_at < cutoff:
                continue  # dismissed by an operator, or already past the DLQ's retention
            if oldest_kept is not None and failed_at <= oldest_kept:
                continue  # the DLQ is full of newer failures: this one was (or would be) trimmed
            missing.append(job)
        return missing

    def _counted(self, entry: DeadLetterEntry) -> str:
        """The counters of a failure no handler saw: one failed run, dead-lettered as `reconciled`."""
        increments = counters.failure_increments(entry.queue, entry.func_name, entry.exc_type, "reconciled")
        return counters.spec(self.settings.metrics.max_label_values, self.settings.metrics.max_series, increments)

    def _recovered_entry(self, job: StoredJob) -> DeadLetterEntry:
        recovered = recover_failure(
            status=job.status,
            meta_history=job.meta.get(META_FAILURES) or [],
            meta_max_retries=_int(job.meta[META_MAX_RETRIES]) if META_MAX_RETRIES in job.meta else None,
            retries_left=job.retries_left,
            runs=job.runs,
            ended_at=job.ended_at,
            worker=job.worker_name,
            meta_dropped=_int(job.meta.get(META_FAILURES_DROPPED)),
            requeues=_int(job.meta.get(META_REQUEUE_COUNT)),
        )
        undecoded = job.args is UNDECODED
        return build_entry(
            record=recovered.record,
            history=recovered.history,
            attempts=recovered.attempts,
            max_retries=recovered.max_retries,
            dropped=recovered.dropped,
            reason=recovered.reason,
            origin=job.func_name,
            redact_keys=self.settings.redact_keys,
            job_id=job.id,
            func_name=job.func_name,
            queue=job.origin,
            args=[f"<not decoded without running code; RQ's description: {job.description}>"]
            if undecoded
            else job.args,
            kwargs={} if undecoded else job.kwargs,
            enqueued_at=job.enqueued_at,
            snapshot=job.snapshot,
        )

    # -- 3. entries of jobs that are live again ------------------------------------------------

    def _remove_live_entries(self, full: bool) -> int:
        removed = 0
        live = self._live_entry_ids(full, prune=True)
        for start in range(0, len(live), SCAN_BATCH):
            chunk = live[start : start + SCAN_BATCH]
            removed += self.dlq.delete(chunk, outcome="requeued", by="another tool (seen by the reconciler)")
            logger.info("Removed {} DLQ entries whose jobs were requeued by another tool: {}", len(chunk), chunk)
        return removed

    def _live_entry_ids(self, full: bool, prune: bool) -> list[str]:
        """The entries (the newest `window`, or all when `full`) whose jobs are live again; `prune`
        also removes index members whose entry hash is gone (a writer's pass)."""
        ids = self.dlq.select_ids(DlqFilter(), newest_first=True, limit=None if full else self.window, prune=prune)
        live = []
        for start in range(0, len(ids), SCAN_BATCH):
            chunk = ids[start : start + SCAN_BATCH]
            statuses = job_statuses(self.connection, chunk)
            live += [job_id for job_id, status in zip(chunk, statuses, strict=True) if status in LIVE_STATUSES]
        return live

    def _prune_dismissed(self) -> None:
        """Forget dismissals of jobs that are no longer failed (deleted, expired or requeued)."""
        ids = self.dlq.dismissed_ids()
        for start in range(0, len(ids), SCAN_BATCH):
            chunk = ids[start : start + SCAN_BATCH]
            gone = [
                job_id
                for job_id, status in zip(chunk, job_statuses(self.connection, chunk), strict=True)
                if status not in DEAD_STATUSES
            ]
            self.dlq.forget_dismissed(gone)


def run_forever(reconciler: Reconciler, interval: float, full_every: int, redis_url: str | None) -> None:
    """Reconcile every `interval` seconds (every `full_every`-th pass is full) until SIGTERM/SIGINT.

    Redis errors (a restart, an outage) are logged with the URL redacted and the loop goes on;
    redis-py reconnects on the next command.
    """
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    url = redact_url(redis_url)
    logger.info("Reconciler started: a pass every {}s, a full one every {} passes", interval, full_every)
    passes = 0
    while not stopping.is_set():
        try:
            report = reconciler.run(full=passes % full_every == 0, index_search=True)
        except NoPermissionError:
            raise  # no retry can fix an ACL: exit with one line (the CLI's edge)
        except RedisError as error:
            logger.warning("Reconciliation pass failed, Redis at {} unavailable ({}); retrying", url, error)
        else:
            _record(reconciler, report, full=passes % full_every == 0, interval=interval)
            passes += 1
            if report.changed:
                logger.info("{}", report.line())
        stopping.wait(interval)
    logger.info("Reconciler stopped")


def _record(reconciler: Reconciler, report: ReconcileReport, full: bool, interval: float) -> None:
    """Tell the dashboard this pass finished (`reconciler_health`); a failed write only costs the record."""
    try:
        record_pass(reconciler.connection, reconciler.dlq.keys, report.line(), full, interval)
    except NoPermissionError:
        raise  # a user that may not write the record may not reconcile either: say so, once
    except RedisError as error:
        logger.debug("Could not record the reconciliation pass: {}", error)


def _jobs(count: int) -> str:
    return "job is" if count == 1 else "jobs are"


def _entries(count: int) -> str:
    return "entry" if count == 1 else "entries"


def _int(value: object) -> int:
    if not isinstance(value, str | bytes | bytearray | SupportsInt | SupportsIndex):
        return 0  # what int() would refuse with a TypeError
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
