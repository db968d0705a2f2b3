"""`PausableWorker`: an `rq.Worker` that takes no job from a paused queue (`queues/pause.py`).

    rq worker default --with-scheduler -c failure_handlers.rq_settings \\
        -w failure_handlers.queues.PausableWorker \\
        --exception-handler failure_handlers.integration.record_failure

RQ 3.0's work loop calls `dequeue_job_and_maintain_ttl(timeout, max_idle_time)`, which blocks on
every queue of the worker (BLMOVE into the intermediate queue for one queue, BLPOP for several;
docs/rq-behaviour.md). The mixin wraps that one method, through RQ's public `--worker-class`:
1. before each dequeue it knows which of its queues are paused (one HMGET, read again when the last
   read is `PAUSE_READ_SECONDS` old: a busy worker reads it about once a second, not per job) and
   lets RQ's own dequeue block on the others only, for at most `PAUSE_POLL_SECONDS` while some queue
   is paused (so a resume is seen within that); when every queue is paused it waits, heartbeating;
2. after a job is dequeued, if the worker sat blocked in its dequeue (or that read is
   `PAUSE_READ_SECONDS` old), it reads the pause again: a job enqueued while the worker sat blocked
   on a queue that was paused meanwhile is put back at the head of its queue, and out of the
   intermediate queue, in one MULTI, unrun. Nothing is lost: a job is either on its queue or run.
   So an idle worker takes no job of a paused queue, and a busy one (its dequeue returns at once:
   no extra read) none of a queue paused more than `PAUSE_READ_SECONDS` before.
A job already running when the pause comes finishes. Burst workers stop when only paused queues
have jobs.

Its registry maintenance first schedules again the jobs whose retry a killed process tore
(`jobs/torn_retries.py`), which RQ's own cleanup would drop for good.
"""

from __future__ import annotations

import math
import time
from typing import Any

import redis.exceptions
from redis import Redis
from rq.job import Job
from rq.queue import Queue
from rq.worker import SimpleWorker, Worker, WorkerStatus

from failure_handlers.jobs.torn_retries import repair_torn_retries
from failure_handlers.queues.pause import paused_among
from failure_handlers.recording import fork_warm_up
from failure_handlers.storage.keys import DlqKeys

PAUSE_POLL_SECONDS = 2  # while a queue is paused: how long a dequeue blocks before it reads the pause again
PAUSE_READ_SECONDS = 1.0  # a read of the paused queues is used for this long (see module docstring)
BLOCKED_SECONDS = 0.05  # a dequeue longer than this waited for a job: the pause is read again after it


class PauseAware:
    """The pause check around RQ's dequeue (see module docstring); mixed into RQ's worker classes."""

    connection: Redis
    _ordered_queues: list[Queue]
    dlq_prefix: str | None = None  # DLQ_PREFIX; read from the settings when first needed
    _pause_read: tuple[float, set[str]] | None = None  # (monotonic time of the last read, the paused among ours)

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        idle_deadline = None if max_idle_time is None else time.monotonic() + max_idle_time
        while True:
            paused = self._paused_now()
            dequeue_started = time.monotonic()
            if not paused:
                idle_left = None if idle_deadline is None else max(1, math.ceil(idle_deadline - time.monotonic()))
                result = super().dequeue_job_and_maintain_ttl(timeout, idle_left)  # type: ignore[misc]
            else:
                result = self._dequeue_unpaused(paused, timeout, idle_deadline)
            if result is None:
                if timeout is None or (idle_deadline is not None and time.monotonic() >= idle_deadline):
                    return None
                continue
            job, queue = result
            blocked = time.monotonic() - dequeue_started > BLOCKED_SECONDS
            if queue.name not in self._paused_now(fresh=blocked) or not self._give_back(job, queue):
                return job, queue
            # paused while we were blocked on it: given back at the head of its queue, unrun

    def clean_registries(self) -> None:
        """RQ's maintenance, after scheduling again the jobs of a torn retry (`jobs/torn_retries.py`)."""
        for queue in self._queues_of_worker():
            try:
                repair_torn_retries(queue, self.serializer)  # type: ignore[attr-defined]
            except redis.exceptions.RedisError as error:
                self.log.warning("Worker %s: cannot repair torn retries of %s (%s)", self.name, queue.name, error)  # type: ignore[attr-defined]
        super().clean_registries()  # type: ignore[misc]

    def _paused_now(self, fresh: bool = False) -> set[str]:
        """Which of this worker's queues are paused, as read at most PAUSE_READ_SECONDS ago (`fresh`: now)."""
        now = time.monotonic()
        if fresh or self._pause_read is None or now - self._pause_read[0] >= PAUSE_READ_SECONDS:
            self._pause_read = (now, self._paused([queue.name for queue in self._queues_of_worker()]))
        return self._pause_read[1]

    def _queues_of_worker(self) -> list[Queue]:
        return list(getattr(self, "queues", None) or self._ordered_queues)

    def _paused(self, names: list[str]) -> set[str]:
        """Which of `names` are paused; none when Redis cannot say (RQ's own dequeue then waits for
        Redis with its backoff, as without the pause; a job already dequeued runs)."""
        try:
            return paused_among(self.connection, self._pause_keys(), names)
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
            self.log.warning("Worker %s: cannot read the paused queues (%s)", self.name, error)  # type: ignore[attr-defined]
            return set()

    def _dequeue_unpaused(
        self, paused: set[str], timeout: int | None, idle_deadline: float | None
    ) -> tuple[Job, Queue] | None:
        """RQ's own dequeue over the queues not paused, returning (None) after `PAUSE_POLL_SECONDS`."""
        every = self._ordered_queues
        active = [queue for queue in every if queue.name not in paused]
        poll = PAUSE_POLL_SECONDS
        if idle_deadline is not None:
            poll = max(1, min(poll, int(idle_deadline - time.monotonic()) + 1))
        if not active:
            if timeout is None:
                return None  # a burst worker: nothing it may take
            try:
                self.set_state(WorkerStatus.IDLE)  # type: ignore[attr-defined]
                self.procline("Paused: " + ",".join(sorted(paused)))  # type: ignore[attr-defined]
                self.heartbeat()  # type: ignore[attr-defined]
                if self.should_run_maintenance_tasks:  # type: ignore[attr-defined]
                    self.run_maintenance_tasks()  # type: ignore[attr-defined]
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as error:
                self.log.warning("Worker %s: Redis failed while every queue is paused (%s)", self.name, error)  # type: ignore[attr-defined]
            time.sleep(poll)
            return None
        self._ordered_queues = active
        try:
            result = super().dequeue_job_and_maintain_ttl(  # type: ignore[misc]
                None if timeout is None else min(timeout, poll), poll
            )
        finally:
            self._ordered_queues = every
        if result is not None:
            self.reorder_queues(reference_queue=result[1])  # type: ignore[attr-defined]
        return result

    def _give_back(self, job: Job, queue: Queue) -> bool:
        """The job back at the head of its queue and out of the intermediate queue, in one MULTI;
        False if Redis failed (then it runs: it is this worker's, as RQ would have it)."""
        try:
            with self.connection.pipeline(transaction=True) as pipe:
                pipe.lrem(queue.intermediate_queue_key, 1, job.id)
                pipe.lpush(queue.key, job.id)
                pipe.execute()
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
            return False
        self.log.info("Worker %s: queue %s is paused: job %s put back, unrun", self.name, queue.name, job.id)  # type: ignore[attr-defined]
        return True

    def _pause_keys(self) -> DlqKeys:
        if self.dlq_prefix is None:
            from failure_handlers import runtime

            self.dlq_prefix = runtime.settings_or_exit().dlq.prefix
        return DlqKeys(self.dlq_prefix)


class PausableWorker(PauseAware, Worker):
    """`rq.Worker` (a work-horse per job) that takes no job from a paused queue."""


class PausableSimpleWorker(PauseAware, SimpleWorker):
    """`rq.SimpleWorker` (jobs run in the worker's process) that takes no job from a paused queue."""


def pause_aware(worker_class: type[Any]) -> bool:
    """Whether workers of this class obey a pause."""
    return issubclass(worker_class, PauseAware)


fork_warm_up.install()  # with the callback alone (no exception handler): the same warm-up before each fork
