"""Bulk runs in the background: a requeue or delete of thousands that the dashboard starts, that
any dashboard process can watch and cancel, and whose result lands in the audit log.

The run is `requeue_run.requeue_jobs` or `bulk.delete_ids` on an id list fixed when the operator
confirmed, batch by batch: their `on_progress` hook writes the counts here after every batch, their
`stop` hook reads whether someone asked to cancel before every batch (what was done stays done, the
rest is untouched). Its state lives in Redis (`storage/keys.py`), not in the process:
- `<prefix>bulk:run:<id>` hash: what, who, the counts so far, the state, who asked to cancel;
- `<prefix>bulk:lease:<id>` with a TTL of LEASE_SECONDS, renewed after every batch by the process
  running it. A run that says `running` without its lease had its process die: it reads as
  `interrupted`, and the next run started (or a cancel of it) records it so in the audit log.
- `<prefix>bulk:runs`: the newest RUNS_KEPT runs, for the list.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from failure_handlers.audit import Actor, AuditLog
from failure_handlers.audit.reports import record_run
from failure_handlers.operations.report import BulkReport
from failure_handlers.redaction import redact_text
from failure_handlers.storage.keys import DlqKeys

RUNNING, FINISHED, CANCELLED, INTERRUPTED, FAILED = "running", "finished", "cancelled", "interrupted", "failed"
STATES = (RUNNING, FINISHED, CANCELLED, INTERRUPTED, FAILED)
LEASE_SECONDS = 60  # a batch takes well under this; a process that stops renewing it died
RUN_TTL_SECONDS = 24 * 3600  # a run's state is kept this long after its last write
RUNS_KEPT = 100
PROBLEMS_KEPT = 50  # skips and errors shown on the run's page (the counts stay exact)
BATCH = 200  # ids per batch of a background run: the progress moves, a cancel stops, every ~200

# The work of one run: given the progress and stop hooks, run and return the report.
Fields = dict[FieldT, EncodableT]
Work = Callable[[Callable[[BulkReport], None], Callable[[], bool]], BulkReport]


@dataclass(frozen=True)
class BulkRun:
    """A bulk run as any process reads it."""

    id: str
    action: str  # requeue, delete or dismiss (the audit log's action)
    what: str  # how the ids were chosen: a filter, `12 jobs selected on the list`
    actor: dict[str, str]  # who started it (`Actor.as_json`)
    selected: int
    processed: int = 0
    done: int = 0
    skipped: int = 0
    errors: int = 0
    state: str = RUNNING
    started_at: float = 0.0
    updated_at: float = 0.0
    finished_at: float = 0.0
    summary: str = ""
    problems: list[dict[str, str]] = field(default_factory=list)
    cancel_by: str = ""  # who asked to cancel it
    error: str = ""  # why a failed run failed

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def untouched(self) -> int:
        return self.selected - self.processed

    @property
    def percent(self) -> int:
        return 100 if not self.selected else int(100 * self.processed / self.selected)

    def report(self) -> BulkReport:
        """The counts as a `BulkReport` (for the audit record of an interrupted run)."""
        report = BulkReport("requeue" if self.action == "requeue" else "delete", False, self.selected)
        report.done, report.skipped, report.errors, report.processed = (
            self.done, self.skipped, self.errors, self.processed,
        )  # fmt: skip
        report.cancelled = self.state in (CANCELLED, INTERRUPTED)
        return report

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "untouched": self.untouched, "percent": self.percent}

    @classmethod
    def parse(cls, run_id: str, raw: dict[Any, Any], leased: bool) -> BulkRun:
        data = {_text(name): _text(value) for name, value in raw.items()}
        state = data.get("state", RUNNING)
        if state == RUNNING and not leased:
            state = INTERRUPTED  # its process died (or lost Redis for LEASE_SECONDS)
        return cls(
            id=run_id,
            action=data.get("action", ""),
            what=data.get("what", ""),
            actor=_json(data.get("actor"), {}),
            selected=_whole(data.get("selected")),
            processed=_whole(data.get("processed")),
            done=_whole(data.get("done")),
            skipped=_whole(data.get("skipped")),
            errors=_whole(data.get("errors")),
            state=state if state in STATES else FAILED,
            started_at=_number(data.get("started_at")),
            updated_at=_number(data.get("updated_at")),
            finished_at=_number(data.get("finished_at")),
            summary=data.get("summary", ""),
            problems=_json(data.get("problems"), []),
            cancel_by=data.get("cancel_by", ""),
            error=data.get("error", ""),
        )


class BulkRuns:
    """The bulk runs of one DLQ prefix in Redis."""

    def __init__(self, connection: Redis, keys: DlqKeys) -> None:
        self.connection = connection
        self.keys = keys

    def create(self, action: str, what: str, actor: Actor, selected: int) -> str:
        """A new run, `running`, leased to this process; returns its id."""
        run_id = secrets.token_urlsafe(16)
        now = time.time()
        fields: Fields = {
            "action": action, "what": what, "actor": json.dumps(actor.as_json()), "selected": selected,
            "state": RUNNING, "started_at": repr(now), "updated_at": repr(now),
        }  # fmt: skip
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.bulk_run(run_id), mapping=fields)
            pipe.expire(self.keys.bulk_run(run_id), RUN_TTL_SECONDS)
            pipe.set(self.keys.bulk_lease(run_id), "1", px=LEASE_SECONDS * 1000)
            pipe.zadd(self.keys.bulk_runs, {run_id: now})
            pipe.zremrangebyrank(self.keys.bulk_runs, 0, -RUNS_KEPT - 1)
            pipe.execute()
        return run_id

    def get(self, run_id: str) -> BulkRun | None:
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.hgetall(self.keys.bulk_run(run_id))
            pipe.exists(self.keys.bulk_lease(run_id))
            raw, leased = pipe.execute()
        return BulkRun.parse(run_id, raw, bool(leased)) if raw else None

    def recent(self, limit: int = 20) -> list[BulkRun]:
        """The newest runs first (those whose state has expired left out)."""
        ids = [_text(run_id) for run_id in self.connection.zrevrange(self.keys.bulk_runs, 0, limit - 1)]
        return [run for run in (self.get(run_id) for run_id in ids) if run is not None]

    def progress(self, run_id: str, report: BulkReport) -> None:
        """After a batch: the counts so far, and the lease renewed."""
        with self.connection.pipeline(transaction=False) as pipe:
            fields = _counts(report)
            fields["updated_at"] = repr(time.time())
            pipe.hset(self.keys.bulk_run(run_id), mapping=fields)
            pipe.expire(self.keys.bulk_run(run_id), RUN_TTL_SECONDS)
            pipe.set(self.keys.bulk_lease(run_id), "1", px=LEASE_SECONDS * 1000)
            pipe.execute()

    def cancel_requested(self, run_id: str) -> bool:
        return bool(self.connection.hget(self.keys.bulk_run(run_id), "cancel_by"))

    def request_cancel(self, run_id: str, by: str) -> None:
        """Ask the run to stop before its next batch (the first to ask is the one named)."""
        self.connection.hsetnx(self.keys.bulk_run(run_id), "cancel_by", by)

    def finish(self, run_id: str, report: BulkReport | None, error: str = "") -> str:
        """The run's end: finished, cancelled, or failed (`error`); the lease let go. Returns the state."""
        state = FAILED if error else CANCELLED if report is not None and report.cancelled else FINISHED
        now = repr(time.time())
        fields: Fields = {"state": state, "finished_at": now, "updated_at": now, "error": error}
        if report is not None:
            problems = [problem.__dict__ for problem in report.problems[:PROBLEMS_KEPT]]
            fields.update(_counts(report))
            fields.update({"summary": report.line(), "problems": json.dumps(problems)})
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.bulk_run(run_id), mapping=fields)
            pipe.expire(self.keys.bulk_run(run_id), RUN_TTL_SECONDS)
            pipe.delete(self.keys.bulk_lease(run_id))
            pipe.execute()
        return state

    def settle_interrupted(self, audit: AuditLog) -> list[str]:
        """Mark the runs whose process died `interrupted` (once) and record each in the
        audit log by the actor who started it, with the counts it reached. Returns their ids."""
        settled = []
        for run_id in (_text(member) for member in self.connection.zrange(self.keys.bulk_runs, 0, -1)):
            run = self._mark_interrupted(run_id)
            if run is not None:
                detail = "its dashboard process stopped: the rest is untouched, still in the DLQ"
                record_run(
                    audit, run.action, _actor(run.actor), [], run.report(), run.what, run.selected, INTERRUPTED, detail
                )
                settled.append(run_id)
        return settled

    def _mark_interrupted(self, run_id: str) -> BulkRun | None:
        """The run, marked interrupted, if it is running without its lease and no one settled it yet
        (HSETNX `settled`: of two processes settling at once, one does)."""
        run = self.get(run_id)
        if run is None or run.state != INTERRUPTED or run.finished_at:
            return None
        if not self.connection.hsetnx(self.keys.bulk_run(run_id), "settled", "1"):
            return None
        fields: Fields = {"state": INTERRUPTED, "finished_at": repr(time.time())}
        self.connection.hset(self.keys.bulk_run(run_id), mapping=fields)
        return run


@dataclass(frozen=True)
class RunSpec:
    """What a background run does, fixed when it starts."""

    action: str  # requeue, delete or dismiss
    actor: Actor  # who started it
    what: str  # how the ids were chosen
    ids: list[str]


def start_run(runs: BulkRuns, audit: AuditLog, spec: RunSpec) -> str:
    """Settle the runs whose process died, then create this one (running, leased); returns its id."""
    runs.settle_interrupted(audit)
    return runs.create(spec.action, spec.what, spec.actor, len(spec.ids))


def track(runs: BulkRuns, run_id: str, spec: RunSpec, work: Work, audit: AuditLog) -> str:
    """Run `work` with the progress and stop hooks of `run_id`, then record it: its state here, and
    one audit record by the actor who started it (who cancelled it, if someone did). Never raises:
    this is a background thread's whole life. Returns the final state."""
    try:
        report = work(lambda report: runs.progress(run_id, report), lambda: runs.cancel_requested(run_id))
    except Exception as error:  # noqa: BLE001 - the run's page, the log and the audit record say why
        reason = redact_text(f"{type(error).__name__}: {error}")
        logger.error("bulk {} {} failed: {}", spec.action, run_id, reason)  # no traceback: it may hold a password
        try:
            reached = runs.get(run_id)  # the counts of its last batch: what was done stays done
            if reached is not None:
                counts = reached.report()
                record_run(audit, spec.action, spec.actor, spec.ids, counts, spec.what, outcome=FAILED, detail=reason)
            return runs.finish(run_id, None, reason)
        except RedisError:
            return FAILED  # the lease expires: the run reads as interrupted
    # The audit record first: a page that reads the run as ended finds its record too (a process that dies
    # in between leaves the run leased: it is then also recorded as interrupted, never not recorded).
    try:
        cancel_by = _text(runs.connection.hget(runs.keys.bulk_run(run_id), "cancel_by") or b"")
        detail = f"cancelled by {cancel_by}" if report.cancelled and cancel_by else ""
        record_run(audit, spec.action, spec.actor, spec.ids, report, spec.what, detail=detail)
        state = runs.finish(run_id, report)
    except RedisError as error:
        logger.warning("bulk {} {} ran, but its end could not be recorded: {}", spec.action, run_id, error)
        return FAILED
    return state


def _actor(data: dict[str, str]) -> Actor:
    return Actor(**{name: str(data.get(name, "")) for name in ("name", "via", "role", "address")})


def _counts(report: BulkReport) -> Fields:
    return {
        "processed": report.processed, "done": report.done, "skipped": report.skipped, "errors": report.errors,
    }  # fmt: skip


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _whole(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _json(value: str | None, default: Any) -> Any:
    try:
        data = json.loads(value) if value else default
    except ValueError:
        return default
    return data if isinstance(data, type(default)) else default
