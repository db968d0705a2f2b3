"""Put failed jobs back on their own queues: exactly once, with a fresh retry budget, in failure order.

How one batch goes:
1. read the DLQ entries and RQ jobs (`requeue_reads.py`: one script call): of a job, only the
   fields a requeue reads (`jobs/lean_job.py`, no `Job` object); an unusual job is read whole into
   an RQ `Job` (a second round trip for those only);
2. claim them in one Lua call (`dlq.claims.claim`, see `dlq/claims.py`): the DLQ entry leaves every index and the
   job leaves RQ's FailedJobRegistry atomically, so of two operators requeueing one job only one
   gets it;
3. for each claimed job: RQ 3.0's own requeue keeps `retries_left` (0 after exhaustion; see
   docs/rq-behaviour.md#requeue), so set a fresh budget; a job whose RQ hash has expired is
   rebuilt from the entry's snapshot;
4. one MULTI: write every job back as RQ's enqueue does (a lean job: one HSET of the fields that
   change; a `Job`: `Queue._enqueue_job`), push the ids (one RPUSH/LPUSH per run of jobs of one
   queue, in order) and delete the claimed entries. The lean jobs' hashes are WATCHed: if one
   changed or expired since step 1, the MULTI does nothing and is sent again with those jobs read
   and written whole. A run that dies between 2 and 4 leaves claims that
   `dlq.claims.release_stale` gives back to the DLQ.
A job of an `@idempotent` task whose key is already done is skipped (`already processed`): running
it again would only return the stored result. `force=True` requeues it and makes it run its body
again (`idempotency/requeue_check.py`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import WatchError
from rq import Queue
from rq.defaults import DEFAULT_FAILURE_TTL
from rq.job import Job, JobStatus, validate_job_id
from rq.registry import FailedJobRegistry
from rq.serializers import Serializer, resolve_serializer

from failure_handlers.dlq.claims import CLAIMED_ENTRY, CLAIMED_REGISTRY
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.dlq.text import text
from failure_handlers.idempotency.requeue_check import already_processed
from failure_handlers.jobs.lean_job import LeanJob
from failure_handlers.jobs.snapshot import rebuild_job
from failure_handlers.metrics import counters
from failure_handlers.operations.requeue_reads import BatchReader
from failure_handlers.recording.failure_record import utc_now_iso
from failure_handlers.storage.keys import (
    META_IDEMPOTENCY_FORCE,
    META_MAX_RETRIES,
    META_REQUEUE_COUNT,
    META_REQUEUED_AT,
)

FAILED_STATES = (JobStatus.FAILED, JobStatus.STOPPED)


class Result(StrEnum):
    REQUEUED = "requeued"
    WOULD_REQUEUE = "would requeue"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True)
class Outcome:
    job_id: str
    result: Result
    detail: str  # where it went, or why not

    def line(self) -> str:
        return f"{self.result.value} {self.job_id}: {self.detail}"


@dataclass
class _Candidate:
    job_id: str
    entry: DeadLetterEntry | None
    job: Job | LeanJob | None
    problem: str = ""
    claim: int = 0  # DeadLetterQueue.claim's code

    @property
    def queue_name(self) -> str:
        if self.job is not None and self.job.origin:
            return self.job.origin
        return self.entry.queue if self.entry is not None else ""

    @property
    def func_name(self) -> str | None:
        if self.entry is not None:
            return self.entry.func_name
        return self.job.func_name if isinstance(self.job, Job) else None

    @property
    def failed_at(self) -> float:
        return self.entry.failed_at_epoch if self.entry is not None else 0.0


class Requeuer:
    """Requeue batches of failed jobs with `retries` retries left (`at_front`: ahead of the queue).

    One batch at a time; `operations/requeue_run.py` runs a whole list of ids through it.
    `max_label_values` (METRICS_MAX_LABEL_VALUES) and `serializer_name` (RQ_SERIALIZER) have no
    default: a caller that forgot them would count and decode differently from the others.
    `lean_jobs`: read and write the usual job as a `LeanJob` (False: always as an RQ `Job`, for a
    subclass that changes more of the job, like the replay).
    """

    lean_jobs = True

    def __init__(
        self,
        connection: Redis,
        dlq: DeadLetterQueue,
        retries: int,
        intervals: Sequence[int] = (),
        *,
        max_label_values: int,
        serializer_name: str,
        at_front: bool = False,
        serializer: Serializer | None = None,
        force: bool = False,
        by: str | None = None,
    ) -> None:
        self.connection = connection
        self.force = force  # requeue (and re-run) jobs whose idempotency key is already done
        self.serializer_name = serializer_name  # RQ_SERIALIZER: how to decode job arguments safely
        self.by = by  # who requeues, for the archive's `outcome_by` (default: `requeue (user@host)`)
        self.max_label_values = max_label_values
        self.serializer = serializer
        self.dlq = dlq
        self.retries = retries
        self.intervals = list(intervals)
        self.at_front = at_front
        self._queues: dict[str, Queue] = {}
        self.reader = BatchReader(connection, dlq.keys, serializer, lean=self.lean_jobs)

    def plan(self, job_ids: Sequence[str]) -> list[Outcome]:
        """What `requeue` would do, changing nothing."""
        outcomes = []
        candidates = self._read(job_ids)
        processed = self._already_processed(candidates)
        for candidate in candidates:
            if refusal := self._refusal(candidate) or processed.get(candidate.job_id):
                outcomes.append(refusal)
            else:
                outcomes.append(Outcome(candidate.job_id, Result.WOULD_REQUEUE, self._destination(candidate)))
        return outcomes

    def requeue(self, job_ids: Sequence[str]) -> list[Outcome]:
        """Requeue one batch; returns one outcome per id (in the order given)."""
        candidates = self._read(job_ids, writing=True)
        processed = self._already_processed(candidates)
        outcomes: dict[str, Outcome] = {}
        ready = []
        for candidate in candidates:
            if refusal := self._refusal(candidate) or processed.get(candidate.job_id):
                outcomes[candidate.job_id] = refusal
            else:
                ready.append(candidate)
        codes = self.dlq.claims.claim([(c.job_id, self._registry(c.queue_name).key) for c in ready], by=self.by)
        claimed = []
        for candidate, code in zip(ready, codes, strict=True):
            candidate.claim = code
            if code:
                claimed.append(candidate)
            else:
                outcomes[candidate.job_id] = Outcome(
                    candidate.job_id, Result.SKIPPED, "already claimed by another requeue"
                )
        outcomes.update(self._enqueue(claimed))
        return [outcomes[job_id] for job_id in dict.fromkeys(job_ids)]

    # -- steps ---------------------------------------------------------------------------------

    def _read(self, job_ids: Sequence[str], writing: bool = False) -> list[_Candidate]:
        ids = list(dict.fromkeys(job_ids))
        valid = [job_id for job_id in ids if _valid_id(job_id)]
        entries, jobs = self.reader.fetch(valid, writing)  # step 1
        candidates = []
        for job_id in ids:
            if job_id not in entries:
                candidates.append(_Candidate(job_id, None, None, "not a valid RQ job id"))
                continue
            entry, job = entries[job_id], jobs[job_id]
            problem = ""
            if entry is not None and entry.missing_fields():
                problem = f"the DLQ entry is malformed (missing {', '.join(entry.missing_fields())})"
            elif entry is None and job is None:
                problem = "no such job (not in the DLQ, and RQ has no job with this id)"
            candidates.append(_Candidate(job_id, entry, job, problem))
        return candidates

    def _refusal(self, candidate: _Candidate) -> Outcome | None:
        """Why this job cannot be requeued (an error, or a skip if another requeue beat us), or None."""
        job, entry = candidate.job, candidate.entry
        if candidate.problem:
            return Outcome(candidate.job_id, Result.ERROR, candidate.problem)
        if job is not None:
            status = job.get_status(refresh=False)
            if status in FAILED_STATES:
                return None
            state = status.value if status is not None else "unknown"
            if META_REQUEUED_AT in job.meta:
                return Outcome(
                    candidate.job_id, Result.SKIPPED, f"already requeued at {job.meta[META_REQUEUED_AT]} (now {state})"
                )
            return Outcome(
                candidate.job_id,
                Result.ERROR,
                f"the job is {state}, not in the failed registry of queue {job.origin!r}",
            )
        if entry is None or not entry.job_snapshot:
            return Outcome(
                candidate.job_id, Result.ERROR, "RQ's job hash is gone and the DLQ entry has no snapshot to rebuild it"
            )
        return None

    def _already_processed(self, candidates: Sequence[_Candidate]) -> dict[str, Outcome]:
        """Skips for the jobs whose idempotency key is done (none with `force`)."""
        if self.force:
            return {}
        jobs = [c.job for c in candidates if c.job is not None and not c.problem]
        found = already_processed(self.connection, self.dlq.keys.prefix, jobs, self.serializer_name)
        return {job_id: Outcome(job_id, Result.SKIPPED, detail) for job_id, detail in found.items()}

    def _destination(self, candidate: _Candidate) -> str:
        func = candidate.func_name
        rebuilt = " (rebuilt from the DLQ entry)" if candidate.job is None else ""
        return f"queue {candidate.queue_name!r}, {func}, {self.retries} retries{rebuilt}"

    def _enqueue(self, claimed: list[_Candidate]) -> dict[str, Outcome]:
        if not claimed:
            return {}
        # Oldest failure first; pushing at the front reverses, so push newest first.
        ordered = sorted(claimed, key=lambda c: c.failed_at, reverse=self.at_front)
        prepared: list[tuple[_Candidate, Job | LeanJob]] = []
        outcomes = {}
        for candidate in ordered:
            try:
                prepared.append((candidate, self._prepare(candidate)))
            except ValueError as error:
                self._give_back(candidate)
                outcomes[candidate.job_id] = Outcome(candidate.job_id, Result.ERROR, str(error))
        try:
            labels = counters.requeue_label(
                self.connection, self.dlq.keys, [c.queue_name for c, _ in prepared], self.max_label_values
            )
            try:
                self._execute(prepared, labels, watch=True)
            except WatchError:
                # A lean job's hash changed or expired since it was read (its HSET alone would leave a
                # job without its call): read those jobs whole (rebuilt if gone) and write them whole.
                prepared = self._prepare_whole(prepared, outcomes)
                self._execute(prepared, labels, watch=False)
        except Exception:
            for candidate, _ in prepared:
                self._give_back(candidate)
            raise
        for candidate, _ in prepared:
            outcomes[candidate.job_id] = Outcome(candidate.job_id, Result.REQUEUED, self._destination(candidate))
        return outcomes

    def _execute(
        self, prepared: Sequence[tuple[_Candidate, Job | LeanJob]], labels: dict[str, str], watch: bool
    ) -> None:
        """The batch's MULTI: the jobs enqueued, their claimed entries deleted, the requeues counted.
        `watch`: the lean jobs' hashes are WATCHed, so that the MULTI does nothing (WatchError) if
        one of them changed or expired since it was read."""
        with self.connection.pipeline(transaction=True) as pipe:
            lean_keys = [Job.key_for(job.id) for _, job in prepared if isinstance(job, LeanJob)]
            if watch and lean_keys:
                pipe.watch(*lean_keys)  # type: ignore[no-untyped-call]  # unannotated in redis-py 8.1
                pipe.multi()
            self._write_jobs(pipe, prepared)
            if prepared:
                self.dlq.claims.finish_many([candidate.job_id for candidate, _ in prepared], pipe)
                requeued = Counter(labels[candidate.queue_name] for candidate, _ in prepared)
                counters.queue_requeue_increments(pipe, self.dlq.keys, requeued)
            pipe.execute()

    def _prepare_whole(
        self, prepared: Sequence[tuple[_Candidate, Job | LeanJob]], outcomes: dict[str, Outcome]
    ) -> list[tuple[_Candidate, Job | LeanJob]]:
        """`prepared` with each `LeanJob` read again whole into an RQ `Job` (rebuilt from the entry's
        snapshot if its hash is gone); one that cannot be is given back, with an error outcome."""
        lean = [candidate for candidate, job in prepared if isinstance(job, LeanJob)]
        with self.connection.pipeline(transaction=False) as pipe:
            for candidate in lean:
                pipe.hgetall(Job.key_for(candidate.job_id))
                pipe.hget(self.dlq.keys.entry(candidate.job_id), "job_snapshot")
            replies = iter(pipe.execute())
        whole: list[tuple[_Candidate, Job | LeanJob]] = []
        for candidate, job in prepared:
            if isinstance(job, LeanJob):
                raw, snapshot = next(replies), next(replies)
                candidate.job = self.reader.restore(candidate.job_id, raw) if raw else None
                if candidate.entry is not None:
                    candidate.entry = replace(candidate.entry, job_snapshot=text(snapshot) if snapshot else "")
                try:
                    job = self._prepare(candidate)
                except ValueError as error:
                    self._give_back(candidate)
                    outcomes[candidate.job_id] = Outcome(candidate.job_id, Result.ERROR, str(error))
                    continue
            whole.append((candidate, job))
        return whole

    def _write_jobs(self, pipe: Pipeline, prepared: Sequence[tuple[_Candidate, Job | LeanJob]]) -> None:
        """Enqueue the jobs on `pipe` in order: a `LeanJob` by one HSET, its id pushed with the others
        of the same queue next to it (one push per run); a `Job` by RQ's `_enqueue_job`."""
        serializer = resolve_serializer(self.serializer)
        run: list[str] = []  # ids of lean jobs of one queue waiting to be pushed
        run_queue: Queue | None = None
        for candidate, job in prepared:
            queue = self._queue(candidate.queue_name)
            if run and (queue is not run_queue or not isinstance(job, LeanJob)):
                self._push(pipe, run_queue, run)
            if isinstance(job, LeanJob):
                fields = job.enqueue_fields(queue.name, queue._default_timeout, serializer)
                pipe.hset(Job.key_for(job.id), mapping=fields)
                run.append(job.id)
                run_queue = queue
            else:
                queue._enqueue_job(job, pipeline=pipe, at_front=self.at_front)
        if run:
            self._push(pipe, run_queue, run)

    def _push(self, pipe: Pipeline, queue: Queue | None, run: list[str]) -> None:
        """Push `run` as RQ's `push_job_id` would one by one (LPUSH of a, b, c leaves c, b, a in front)."""
        if queue is not None:
            (pipe.lpush if self.at_front else pipe.rpush)(queue.key, *run)
        run.clear()

    def _prepare(self, candidate: _Candidate) -> Job | LeanJob:
        job = candidate.job
        if job is None:
            if candidate.entry is None:  # `_refusal` turned these away already
                raise ValueError("RQ's job hash is gone and there is no DLQ entry to rebuild it from")
            job = rebuild_job(self.connection, candidate.job_id, candidate.entry.job_snapshot, self.serializer)
        job.retries_left = self.retries or None
        if not job.retry_intervals:
            job.retry_intervals = self.intervals
        job.meta[META_MAX_RETRIES] = self.retries
        job.meta[META_REQUEUE_COUNT] = int(job.meta.get(META_REQUEUE_COUNT, 0)) + 1
        job.meta[META_REQUEUED_AT] = utc_now_iso()
        if self.force:
            job.meta[META_IDEMPOTENCY_FORCE] = True
        else:
            job.meta.pop(META_IDEMPOTENCY_FORCE, None)
        if isinstance(job, Job):  # a LeanJob writes these as cleared (`LeanJob.enqueue_fields`)
            job.started_at = None
            job.ended_at = None
            job._exc_info = ""  # as RQ 3.0's FailedJobRegistry.requeue does
        return job

    def _give_back(self, candidate: _Candidate) -> None:
        """Undo a claim: the entry returns to the DLQ, the job to RQ's failed registry."""
        if candidate.claim & CLAIMED_ENTRY and candidate.entry is not None:
            self.dlq.claims.release([candidate.entry])
        if candidate.claim & CLAIMED_REGISTRY:
            # A bare ZADD, scored as RQ scores it: FailedJobRegistry.add would also re-save the job.
            ttl = (candidate.job.failure_ttl if candidate.job else None) or DEFAULT_FAILURE_TTL
            self.connection.zadd(self._registry(candidate.queue_name).key, {candidate.job_id: time.time() + ttl})

    def _queue(self, name: str) -> Queue:
        if name not in self._queues:
            self._queues[name] = Queue(name, connection=self.connection, serializer=self.serializer)
        return self._queues[name]

    def _registry(self, queue_name: str) -> FailedJobRegistry:
        registry: FailedJobRegistry = self._queue(queue_name).failed_job_registry  # unannotated in rq 3.0
        return registry


def _valid_id(job_id: str) -> bool:
    try:
        validate_job_id(job_id)
    except (ValueError, TypeError):
        return False
    return True
