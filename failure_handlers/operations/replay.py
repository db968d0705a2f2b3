"""Fix and replay: requeue one dead job with edited arguments, exactly once, with a fresh retry budget.

`check_replay` validates what the operator gave against the DLQ entry and RQ's stored job (read
without running code, `jobs/safe_reader.py`) and raises `ReplayError` (one line, nothing changed)
when the replay would run on placeholders:
- a value `***` anywhere in what was given: the DLQ shows secret-looking keyword arguments redacted,
  and the real value must be given in full;
- an argument that is not JSON (bytes, a date, an object…), given back as the text the DLQ shows for
  it: the job would get that text instead; it must be given in full, as JSON;
- a part (`args` or `kwargs`) left out whose stored value cannot be read without running code.
A part left out keeps the job's stored (real, unredacted) value.

`replay_job` then runs the same claim / MULTI as a requeue (`Requeuer`, `operations/requeue.py`): of
concurrent replays (and requeues) of one entry exactly one wins. The job keeps its id; `job.meta`
gets `META_REPLAY` (storage/keys.py): a replay of which entry, what was edited, and the entry's
original argument texts; the archive row of the entry keeps its original arguments and is closed as
`requeued` by `replay (user@host)`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from redis import Redis
from rq.job import Job
from rq.serializers import Serializer

from failure_handlers.audit import Actor, AuditLog, os_actor
from failure_handlers.audit.reports import record_replay
from failure_handlers.dlq.actor import actor
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.errors import OperatorError
from failure_handlers.jobs.safe_reader import UNDECODED, read_jobs
from failure_handlers.operations.requeue import Outcome, Requeuer, _Candidate, _valid_id
from failure_handlers.operations.requeue_run import RequeueOptions
from failure_handlers.recording.failure_record import utc_now_iso
from failure_handlers.redaction import REDACTED
from failure_handlers.storage.keys import ENTRY_ARCHIVE_ID, META_REPLAY

# How the DLQ shows a value JSON cannot hold (`safe_json`'s fallback: its repr): <...>, Name(...), b'...'
_REPR = re.compile(r"^(<.*>|[A-Za-z_][\w.]*\(.*\)|b'.*'|b\".*\")$", re.S)


class ReplayError(OperatorError):
    """A replay that cannot go ahead as asked (bad JSON, a redacted or non-JSON argument given back)."""


@dataclass(frozen=True)
class ReplayPlan:
    """The call a replay will make: checked, complete arguments."""

    job_id: str
    func_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    edited: tuple[str, ...]  # "args", "kwargs": what the operator gave
    meta: dict[str, Any] = field(default_factory=dict)  # META_REPLAY's value


def parse_arguments(args_text: str | None, kwargs_text: str | None) -> tuple[list[Any] | None, dict[str, Any] | None]:
    """`--args` (a JSON array) and `--kwargs` (a JSON object) as given; None where not given."""
    args = _parse(args_text, "args", list, 'a JSON array, e.g. [1, "a"]')
    kwargs = _parse(kwargs_text, "kwargs", dict, 'a JSON object, e.g. {"limit": 10}')
    return args, kwargs


def _parse(text: str | None, name: str, kind: type, example: str) -> Any:
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ReplayError(
            f"{name} is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if not isinstance(value, kind):
        raise ReplayError(f"{name} must be {example}, not {type(value).__name__}")
    return value


def check_replay(
    connection: Redis,
    dlq: DeadLetterQueue,
    job_id: str,
    args: list[Any] | None,
    kwargs: dict[str, Any] | None,
    serializer_name: str,
) -> ReplayPlan:
    """The replay of DLQ entry `job_id` with these arguments (None: keep the stored ones), or `ReplayError`."""
    if args is None and kwargs is None:
        raise ReplayError("give the new arguments: --args JSON and/or --kwargs JSON (or --edit)")
    if kwargs is not None and not all(isinstance(key, str) for key in kwargs):
        raise ReplayError("kwargs keys must be strings")
    entry = dlq.get(job_id)
    if entry is None:
        raise ReplayError(f"no DLQ entry {job_id!r} (only a dead job can be replayed; see rq-dlq list)")
    stored = read_jobs(connection, [job_id], serializer_name)[0] if _valid_id(job_id) else None
    stored_args: Any = stored.args if stored is not None else UNDECODED
    stored_kwargs: Any = stored.kwargs if stored is not None else UNDECODED
    shown_args, shown_kwargs = _shown(entry.args, list), _shown(entry.kwargs, dict)
    for name, given in (("args", args), ("kwargs", kwargs)):
        if given is not None and (where := _redacted_in(given, name)):
            raise ReplayError(f"{where} is {REDACTED} (redacted in the DLQ): give its real value in full")
    if args is not None:
        for index, value in enumerate(args):
            stored_value = stored_args[index] if stored_args is not UNDECODED and index < len(stored_args) else None
            _refuse_shown_text(f"args[{index}]", value, _item(shown_args, index), stored_args, stored_value)
    if kwargs is not None:
        for key, value in kwargs.items():
            stored_value = stored_kwargs.get(key) if stored_kwargs is not UNDECODED else None
            _refuse_shown_text(f"kwargs[{key!r}]", value, _item(shown_kwargs, key), stored_kwargs, stored_value)
    for name, given, kept in (("args", args, stored_args), ("kwargs", kwargs, stored_kwargs)):
        if given is None and kept is UNDECODED:
            raise ReplayError(
                f"the stored {name} cannot be read as plain values (not JSON-safe, or RQ's job is gone): "
                f"give --{name} in full"
            )
    final_args = list(args if args is not None else stored_args)
    final_kwargs = dict(kwargs if kwargs is not None else stored_kwargs)
    edited = tuple(name for name, given in (("args", args), ("kwargs", kwargs)) if given is not None)
    meta = {
        "of_entry": job_id,
        "failed_at": entry.failed_at,
        "archive_id": _archive_id(dlq, job_id),
        "edited": list(edited),
        "original_args": entry.args,
        "original_kwargs": entry.kwargs,
    }
    func_name = entry.func_name or (stored.func_name if stored is not None else "")
    return ReplayPlan(job_id, func_name, final_args, final_kwargs, edited, meta)


def replay_job(
    connection: Redis,
    dlq: DeadLetterQueue,
    plan: ReplayPlan,
    options: RequeueOptions,
    serializer: Serializer | None = None,
    audit: AuditLog | None = None,
    audit_actor: Actor | None = None,
) -> Outcome:
    """Run the checked replay (`check_replay`); `options.dry_run` only says what it would do.

    A real replay is recorded in the audit log (`audit`, by default this DLQ's; by `audit_actor`,
    by default the OS user of a Python call), naming which of args / kwargs were edited, never their values."""
    if not options.dry_run:
        dlq.claims.release_stale()
    replayer = options.requeuer(
        connection,
        dlq,
        serializer,
        Replayer,
        force=True,  # the operator changed the call: an idempotency key done for the old one does not hold
        by=options.by or actor("replay"),
        replay=plan,
    )
    outcome = (replayer.plan if options.dry_run else replayer.requeue)([plan.job_id])[0]
    edited = " and ".join(plan.edited)
    done = Outcome(outcome.job_id, outcome.result, f"{outcome.detail}, replayed with edited {edited}")
    if not options.dry_run:
        log = audit or AuditLog(connection, dlq.keys.prefix, archive_maxlen=dlq.archive_maxlen)
        record_replay(log, audit_actor or os_actor("python"), plan.job_id, done.result.value, done.line(), plan.edited)
    return done


class Replayer(Requeuer):
    """A `Requeuer` of one job whose call it replaces by the replay's (in the same claim and MULTI)."""

    def __init__(self, *args: Any, replay: ReplayPlan, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.replay = replay

    lean_jobs = False  # the replay changes the job's call: it goes through an RQ `Job`

    def _prepare(self, candidate: _Candidate) -> Job:
        job = super()._prepare(candidate)
        assert isinstance(job, Job)  # lean_jobs is off
        plan = self.replay
        job.func_name = plan.func_name
        job.instance = None
        job.args = plan.args
        job.kwargs = plan.kwargs
        job.description = job.get_call_string()
        job.meta[META_REPLAY] = {**plan.meta, "at": utc_now_iso(), "by": self.by}
        return job


def _redacted_in(value: Any, where: str) -> str:
    """Where `value` holds the redaction mark (`kwargs['token']`), or ''."""
    if isinstance(value, str):
        return where if value == REDACTED else ""
    if isinstance(value, list):
        return next((found for n, item in enumerate(value) if (found := _redacted_in(item, f"{where}[{n}]"))), "")
    if isinstance(value, dict):
        return next((found for k, item in value.items() if (found := _redacted_in(item, f"{where}[{k!r}]"))), "")
    return ""


def _refuse_shown_text(where: str, given: Any, shown: Any, stored: Any, stored_value: Any) -> None:
    """Refuse a value given back exactly as the DLQ shows a non-JSON stored value (its repr text)."""
    if given is None or given != shown:
        return
    if stored is UNDECODED:
        not_json = isinstance(shown, str) and bool(_REPR.match(shown))  # unknown: a text that reads like a repr
    else:
        not_json = not _json_safe(stored_value)
    if not_json:
        raise ReplayError(
            f"{where} is not JSON-safe (the DLQ shows only its text {_short(shown)}): give its value in full, as JSON"
        )


def _json_safe(value: Any) -> bool:
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_json_safe(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _json_safe(item) for key, item in value.items())
    return False


def _shown(text: str, kind: type) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return kind()
    return value if isinstance(value, kind) else kind()


def _item(container: Any, key: Any) -> Any:
    if isinstance(container, list):
        return container[key] if isinstance(key, int) and key < len(container) else None
    if isinstance(container, Mapping):
        return container.get(key)
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def _archive_id(dlq: DeadLetterQueue, job_id: str) -> str:
    value = dlq.connection.hget(dlq.keys.entry(job_id), ENTRY_ARCHIVE_ID)
    return value.decode() if isinstance(value, bytes) else str(value or "")
