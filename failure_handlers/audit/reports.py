"""Record a finished action in the audit log: `record_run` for a bulk run (requeue, delete, purge,
dismiss), `record_action` for one action (replay, pause, resume). The calls the operations, the CLI
verbs and the web routes make after an action ran; glue over `AuditLog.record`."""

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
    cancelled: bool

    def line(self) -> str: ...


def record_run(
    log: AuditLog,
    action: str,
    actor: Actor,
    ids: Sequence[str],
    counts: RunCounts,
    what: str = "",
    matched: int | None = None,
    outcome: str = "",
    detail: str = "",
) -> str:
    """One record for a run over `ids` (chosen by `what`: a filter, `selected on the list`, ...).

    The run has happened by now: a Redis error while recording it is a warning, not the run's failure.
    A run that changed nothing (every id unknown, gone, malformed or taken by another operator) is
    not recorded: bad input changes nothing, the audit log included. A cancelled run is always
    recorded (an operator started it and stopped it), as one with an `outcome` given (`interrupted`,
    `failed`)."""
    if not counts.done and not counts.cancelled and not outcome:
        return ""
    outcome = outcome or outcome_of(counts.done, counts.skipped, counts.errors, counts.cancelled)
    try:
        return log.record(action, actor, Target(ids, what, matched), outcome, counts.line(), detail)
    except RedisError as error:
        logger.warning("the audit log could not record {} by {}: {}", action, actor.label(), error)
        return ""


def record_action(
    log: AuditLog, action: str, actor: Actor, target: Target, outcome: str, summary: str = "", detail: str = ""
) -> str:
    """One record for a single action (a replay, a pause, a resume), after it ran; a Redis error
    while recording it is a warning, as for `record_run`."""
    try:
        return log.record(action, actor, target, outcome, summary, detail)
    except RedisError as error:
        logger.warning("the audit log could not record {} by {}: {}", action, actor.label(), error)
        return ""


def record_replay(log: AuditLog, actor: Actor, job_id: str, result: str, summary: str, edited: Sequence[str]) -> str:
    """A replay with edited arguments (`result`: the requeue's `requeued`, `skipped` or `error`); the
    record names which of args / kwargs were edited, never their values."""
    outcome = {"requeued": "ok", "skipped": "nothing"}.get(result, "failed")
    detail = "edited: " + " and ".join(edited)
    return record_action(log, "replay", actor, Target([job_id], "edited arguments"), outcome, summary, detail)


def record_queue_change(
    log: AuditLog, action: str, actor: Actor, queue: str, changed: bool, summary: str, detail: str = ""
) -> str:
    """A pause or a resume of `queue` (`changed` False: it already was)."""
    return record_action(log, action, actor, Target(queue=queue), "ok" if changed else "nothing", summary, detail)
