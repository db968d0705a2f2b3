"""Record a finished bulk run (requeue, delete, purge, dismiss) in the audit log: the one call the
operations, the CLI verbs and the web routes make after a run. Pure glue over `AuditLog.record`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from loguru import logger
from redis.exceptions import RedisError

from failure_handlers.audit.actor import Actor
from failure_handlers.audit.log import AuditLog, Target, outcome_of


class RunCounts(Protocol):
    done: int
    skipped: int
    errors: int

    def line(self) -> str: ...


def record_run(
    log: AuditLog,
    action: str,
    actor: Actor,
    ids: Sequence[str],
    counts: RunCounts,
    what: str = "",
    matched: int | None = None,
) -> str:
    """One record for a run over `ids` (chosen by `what`: a filter, `selected on the list`, ...).

    The run has happened by now: a Redis error while recording it is a warning, not the run's failure."""
    outcome = outcome_of(counts.done, counts.skipped, counts.errors)
    try:
        return log.record(action, actor, Target(ids, what, matched), outcome, counts.line())
    except RedisError as error:
        logger.warning("the audit log could not record {} by {}: {}", action, actor.label(), error)
        return ""
