"""Step 1 of a requeue batch (`operations/requeue.py`): read the DLQ entries and the RQ jobs.

Of an entry only the fields a requeue reads (`_READ_FIELDS`); of a usual failed job only
`LEAN_FIELDS` (`jobs/lean_job.py`), into a `LeanJob`; an unusual job is read whole into an RQ `Job`,
one whose hash is gone is rebuilt from the entry's snapshot later (its snapshot read here). A real
requeue reads the batch with one `requeue_read.lua` call whose arguments are the ids alone (a
pipeline of two HMGETs per job sends every field name twice per job: most of a bulk requeue's client
CPU); a plan (dry run) reads with plain HMGETs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from redis import Redis
from rq.job import Job
from rq.serializers import Serializer, resolve_serializer

from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.text import text
from failure_handlers.jobs.lean_job import LEAN_FIELDS, LeanJob
from failure_handlers.storage import scripts
from failure_handlers.storage.keys import DlqKeys
from failure_handlers.storage.scripts import ScriptArg

# The entry fields a requeue reads (the required ones: the rest of the entry is not needed).
_READ_FIELDS = ("job_id", "func_name", "queue", "exc_type", "failed_at")  # DeadLetterEntry.REQUIRED


class BatchReader:
    """Reads a batch for a `Requeuer`: `lean` (its `lean_jobs`) reads usual jobs as `LeanJob`s."""

    def __init__(self, connection: Redis, keys: DlqKeys, serializer: Serializer | None, lean: bool) -> None:
        self.connection = connection
        self.keys = keys
        self.serializer = serializer
        self.lean = lean

    def fetch(
        self, job_ids: Sequence[str], writing: bool = False
    ) -> tuple[dict[str, DeadLetterEntry | None], dict[str, Job | LeanJob | None]]:
        """The entries (only the fields a requeue reads) and the RQ jobs of a batch: one round trip.

        The entry's big fields (traceback, history, snapshot) are not read: the snapshot only for the
        few jobs whose RQ hash is gone, the whole hash only for an entry without its required fields
        (gone, or malformed), and the whole job hash only for a job that is not a `LeanJob`: a
        further, small round trip each. `writing` (a requeue, not a plan): the first round trip is
        one call of `requeue_read.lua` (a plan reads with plain HMGETs: a read-only user can run it).
        """
        keys = self.keys
        lean = self.lean
        serializer = resolve_serializer(self.serializer)
        if lean and writing and job_ids:
            replies = self._read_by_script(job_ids)
        else:
            with self.connection.pipeline(transaction=False) as pipe:
                for job_id in job_ids:
                    pipe.hmget(keys.entry(job_id), *_READ_FIELDS)
                    if lean:
                        pipe.hmget(Job.key_for(job_id), *LEAN_FIELDS)
                    else:
                        pipe.hgetall(Job.key_for(job_id))
                replies = pipe.execute()
        entries: dict[str, DeadLetterEntry | None] = {}
        jobs: dict[str, Job | LeanJob | None] = {}
        whole: list[str] = []  # lean reads that must be read whole after all
        for n, job_id in enumerate(job_ids):
            values, raw_job = replies[2 * n], replies[2 * n + 1]
            entries[job_id] = _lean_entry(values) if all(value is not None for value in values) else None
            if not lean:
                jobs[job_id] = self.restore(job_id, raw_job) if raw_job else None
            elif entries[job_id] is not None and (job := LeanJob.read(job_id, raw_job, serializer)) is not None:
                jobs[job_id] = job
            else:
                whole.append(job_id)
        if whole:
            with self.connection.pipeline(transaction=False) as pipe:
                for job_id in whole:
                    pipe.hgetall(Job.key_for(job_id))
                for job_id, raw_job in zip(whole, pipe.execute(), strict=True):
                    jobs[job_id] = self.restore(job_id, raw_job) if raw_job else None
        incomplete = [job_id for job_id in job_ids if entries[job_id] is None]
        rebuilt = [job_id for job_id in job_ids if jobs[job_id] is None and entries[job_id] is not None]
        if incomplete or rebuilt:
            with self.connection.pipeline(transaction=False) as pipe:
                for job_id in incomplete:
                    pipe.hgetall(keys.entry(job_id))
                for job_id in rebuilt:
                    pipe.hget(keys.entry(job_id), "job_snapshot")
                replies = pipe.execute()
            for job_id, raw in zip(incomplete, replies, strict=False):
                entries[job_id] = DeadLetterEntry.from_hash(raw) if raw else None
            for job_id, snapshot in zip(rebuilt, replies[len(incomplete) :], strict=True):
                entry = entries[job_id]
                if entry is not None:
                    entries[job_id] = replace(entry, job_snapshot=text(snapshot) if snapshot else "")
        return entries, jobs

    def _read_by_script(self, job_ids: Sequence[str]) -> list[Any]:
        """Per job two replies, as the HMGET pipeline gives them: the entry's `_READ_FIELDS`, the job's
        `LEAN_FIELDS` (a missing value is None, also where RESP3 turns the script's false into False)."""
        head: list[ScriptArg] = [self.keys.prefix, Job.key_for(""), len(_READ_FIELDS), *_READ_FIELDS]
        flat = scripts.REQUEUE_READ.run(self.connection, [*head, len(LEAN_FIELDS), *LEAN_FIELDS, *job_ids])
        values = [None if value is False else value for value in flat]
        entry_width, width = len(_READ_FIELDS), len(_READ_FIELDS) + len(LEAN_FIELDS)
        replies: list[Any] = []
        for start in range(0, len(values), width):
            replies.append(values[start : start + entry_width])
            replies.append(values[start + entry_width : start + width])
        return replies

    def restore(self, job_id: str, raw: dict[bytes, bytes]) -> Job | None:
        """An RQ job from its hash, as `Job.fetch_many` makes it; None if RQ cannot read it (then a
        job with a snapshot is rebuilt from it)."""
        job = Job(job_id, connection=self.connection, serializer=self.serializer)
        try:
            job.restore(raw)
        except Exception:  # noqa: BLE001 - an unreadable RQ hash: rebuild from the snapshot if we can
            return None
        return job


def _lean_entry(values: Sequence[bytes]) -> DeadLetterEntry:
    """An entry holding only the fields a requeue reads (`_READ_FIELDS`, in order); the rest empty."""
    job_id, func_name, queue, exc_type, failed_at = (text(value) for value in values)
    return DeadLetterEntry(
        job_id, func_name, queue, "", "", exc_type, "", "", 0, 0, enqueued_at="", failed_at=failed_at, worker=""
    )
