"""`PausableSimpleWorker` in process on fakeredis: a burst worker takes nothing from a paused queue
and serves its other queues; a job dequeued from a queue paused meanwhile goes back, unrun; Redis
failing on the pause read is not a reason to stop working."""

from __future__ import annotations

import redis.exceptions
from rq import Queue, Retry
from rq.registry import StartedJobRegistry

from failure_handlers.queues.pause import paused_among
from failure_handlers.queues.worker import PausableSimpleWorker
from failure_handlers.storage.keys import DlqKeys
from tests.conftest import TEST_ENV

KEYS = DlqKeys(TEST_ENV["DLQ_PREFIX"])


def test_a_burst_worker_leaves_the_paused_queue_and_serves_the_other(fake_redis):
    paused, other = Queue("paused", connection=fake_redis), Queue("other", connection=fake_redis)
    held = [paused.enqueue(len, "abc") for _ in range(3)]
    served = other.enqueue(len, "abcd")
    fake_redis.hset(KEYS.paused_queues, "paused", "{}")
    worker = PausableSimpleWorker([paused, other], connection=fake_redis)
    worker.work(burst=True)
    assert served.get_status(refresh=True) == "finished"
    assert paused.job_ids == [job.id for job in held]  # all still queued, in order
    fake_redis.hdel(KEYS.paused_queues, "paused")
    PausableSimpleWorker([paused, other], connection=fake_redis).work(burst=True)
    assert paused.count == 0 and all(job.get_status(refresh=True) == "finished" for job in held)


def test_a_job_dequeued_from_a_queue_paused_meanwhile_goes_back_unrun(fake_redis, monkeypatch):
    queue = Queue("billing", connection=fake_redis)
    first, second = queue.enqueue(len, "a"), queue.enqueue(len, "b")
    worker = PausableSimpleWorker([queue], connection=fake_redis)
    reads = []

    def paused_after_the_dequeue(names: list[str]) -> set[str]:
        reads.append(names)
        return set() if len(reads) == 1 else {"billing"}  # the pause came while the worker was blocked

    worker._paused = paused_after_the_dequeue  # type: ignore[method-assign]
    monkeypatch.setattr("failure_handlers.queues.worker.BLOCKED_SECONDS", -1.0)  # as if it sat blocked
    fake_redis.hset(KEYS.paused_queues, "billing", "{}")
    assert worker.dequeue_job_and_maintain_ttl(None) is None  # burst: nothing it may take now
    assert queue.job_ids == [first.id, second.id]  # back at the head, in order
    assert fake_redis.llen(queue.intermediate_queue_key) == 0
    assert first.get_status(refresh=True) == "queued"


def test_redis_failing_on_the_pause_read_counts_as_not_paused(fake_redis, monkeypatch):
    worker = PausableSimpleWorker([Queue("billing", connection=fake_redis)], connection=fake_redis)

    def down(*_args: object) -> set[str]:
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr("failure_handlers.queues.worker.paused_among", down)
    assert worker._paused(["billing"]) == set()
    monkeypatch.undo()
    assert paused_among(fake_redis, KEYS, []) == set()


def test_a_busy_worker_reads_the_pause_about_once_a_second_not_per_job(fake_redis):
    queue = Queue("billing", connection=fake_redis)
    for n in range(5):
        queue.enqueue(len, str(n))
    worker = PausableSimpleWorker([queue], connection=fake_redis)
    reads = []
    worker._paused = lambda names: reads.append(names) or set()  # type: ignore[method-assign]
    for _ in range(5):
        assert worker.dequeue_job_and_maintain_ttl(None) is not None
    assert len(reads) == 1  # one read for five jobs dequeued within PAUSE_READ_SECONDS, none blocking


def test_its_maintenance_schedules_again_a_retry_torn_by_a_kill(fake_redis):
    """jobs/torn_retries.py: status `scheduled`, in no registry, still in the StartedJobRegistry."""
    queue = Queue("billing", connection=fake_redis)
    job = queue.enqueue(len, "a", retry=Retry(max=2, interval=1))
    fake_redis.lpop(queue.key)
    fake_redis.zadd(StartedJobRegistry(queue=queue).key, {job.id: 1})
    job.set_status("scheduled")
    PausableSimpleWorker([queue], connection=fake_redis).clean_registries()
    assert fake_redis.zscore(queue.scheduled_job_registry.key, job.id) is not None
    assert job.id not in StartedJobRegistry(queue=queue).get_job_ids(cleanup=False)
