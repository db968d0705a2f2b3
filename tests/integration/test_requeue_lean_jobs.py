"""A bulk requeue reads and writes the usual failed job as a `LeanJob` (one HMGET, one HSET) and the
unusual one as an RQ `Job`: both leave RQ's state as RQ's own requeue would, in one batch, in order."""

from __future__ import annotations

import pickle
import zlib

from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus

from benchmarks.synthetic import make_failed_jobs
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.requeue import Requeuer, Result
from failure_handlers.runtime import connect
from tests.integration.test_requeue_exactly_once import QUEUE, options, registry_ids

VARYING = {b"enqueued_at", b"meta"}  # the time of the requeue (meta: its requeued_at), compared apart


class WholeJobRequeuer(Requeuer):
    lean_jobs = False  # every job through an RQ Job, as before LeanJob (and as the replay still does)


def snapshot(redis: Redis) -> dict[bytes, tuple[bytes, int]]:
    """Every key of the database with its TTL (ms; 0: none), to start a second run from the same state."""
    return {key: (redis.dump(key), max(0, redis.pttl(key))) for key in redis.keys("*")}


def restore(redis: Redis, dumped: dict[bytes, tuple[bytes, int]]) -> None:
    redis.flushdb()
    for key, (value, ttl) in dumped.items():
        redis.restore(key, ttl, value)


def requeue_with(requeuer_class: type[Requeuer], redis: Redis, dlq: DeadLetterQueue, ids: list[str]) -> list:
    requeuer = options(intervals=(5, 10)).requeuer(redis, dlq, requeuer_class=requeuer_class)
    return requeuer.requeue(ids)


def job_state(redis: Redis, job_id: str) -> tuple[dict[bytes, bytes], dict, int]:
    raw = redis.hgetall(Job.key_for(job_id))
    meta = pickle.loads(raw[b"meta"])
    meta.pop("requeued_at")
    return {name: value for name, value in raw.items() if name not in VARYING}, meta, redis.ttl(Job.key_for(job_id))


def test_a_lean_requeue_leaves_each_job_as_the_job_path_does(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 5, dlq=dlq)
    redis.hdel(Job.key_for(ids[1]), "retry_intervals")  # gets the run's intervals
    redis.hdel(Job.key_for(ids[2]), "timeout")  # gets the queue's default timeout
    redis.hset(Job.key_for(ids[3]), "origin", "")  # gets its queue's name from the entry
    redis.expire(Job.key_for(ids[4]), 3600)  # keeps RQ's failure TTL
    before = snapshot(redis)

    lean = requeue_with(Requeuer, redis, dlq, ids)
    after_lean = {job_id: job_state(redis, job_id) for job_id in ids}
    queued_lean = Queue(QUEUE, connection=redis).get_job_ids()
    restore(redis, before)
    whole = requeue_with(WholeJobRequeuer, redis, dlq, ids)

    assert [o.result for o in lean] == [o.result for o in whole] == [Result.REQUEUED] * 5
    assert after_lean == {job_id: job_state(redis, job_id) for job_id in ids}
    assert queued_lean == Queue(QUEUE, connection=redis).get_job_ids() == ids
    fields = redis.hgetall(Job.key_for(ids[0]))
    assert fields[b"status"] == b"queued" and fields[b"started_at"] == b"" and fields[b"ended_at"] == b""
    assert zlib.decompress(fields[b"exc_info"]) == b""


def test_a_batch_of_lean_and_whole_jobs_is_pushed_in_failure_order(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 6, dlq=dlq)
    redis.hset(Job.key_for(ids[1]), "ttl", 600)  # a job with a ttl goes through an RQ Job
    redis.hset(Job.key_for(ids[3]), "meta", b"not a pickle")  # unreadable meta: through an RQ Job too
    redis.delete(Job.key_for(ids[4]))  # its hash is gone: rebuilt from the entry's snapshot

    outcomes = requeue_with(Requeuer, redis, dlq, ids)

    assert [o.result for o in outcomes] == [Result.REQUEUED] * 6
    assert "rebuilt from the DLQ entry" in outcomes[4].detail
    assert Queue(QUEUE, connection=redis).get_job_ids() == ids  # one push per run, in order
    assert [job.get_status() for job in Job.fetch_many(ids, connection=redis)] == [JobStatus.QUEUED] * 6
    assert registry_ids(redis) == [] and dlq.count() == 0
    assert redis.ttl(Job.key_for(ids[1])) > 0  # RQ's save set the job's ttl


def test_jobs_gone_or_no_longer_failed_are_refused_and_the_rest_of_the_batch_requeued(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 5, dlq=dlq)
    redis.hset(Job.key_for(ids[1]), "status", "finished")  # not failed any more
    redis.delete(Job.key_for(ids[2]))
    redis.hset(dlq.keys.entry(ids[2]), "job_snapshot", "")  # gone, with nothing to rebuild it from
    redis.hset(Job.key_for(ids[3]), "status", "no such status")  # RQ cannot read it: rebuilt, as before

    outcomes = {o.job_id: o for o in requeue_with(Requeuer, redis, dlq, ids)}

    assert outcomes[ids[1]].result is Result.ERROR and "the job is finished" in outcomes[ids[1]].detail
    assert outcomes[ids[2]].result is Result.ERROR and "no snapshot" in outcomes[ids[2]].detail
    assert outcomes[ids[3]].result is Result.REQUEUED and "rebuilt" in outcomes[ids[3]].detail
    assert [outcomes[i].result for i in (ids[0], ids[4])] == [Result.REQUEUED] * 2
    assert Queue(QUEUE, connection=redis).get_job_ids() == [ids[0], ids[3], ids[4]]
    assert sorted(dlq.select_ids(DlqFilter())) == sorted(ids[1:3])  # refused entries stay in the DLQ


def test_a_claim_takes_the_batch_out_of_every_index_and_into_claims(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 4, dlq=dlq)
    index_keys = redis.keys(f"{dlq.keys.prefix}by:*")
    registry = Queue(QUEUE, connection=redis).failed_job_registry.key

    codes = dlq.claims.claim([(job_id, registry) for job_id in [*ids[:3], ids[0]]])

    assert codes == [3, 3, 3, 0]  # the repeated id: nothing left to claim
    assert index_keys and all(redis.zmscore(key, ids[:3]) == [None] * 3 for key in index_keys)
    assert redis.zrange(dlq.keys.claims, 0, -1) == sorted(job_id.encode() for job_id in ids[:3])
    assert dlq.select_ids(DlqFilter()) == [ids[3]]


def test_a_job_hash_that_expires_before_the_multi_is_rebuilt_not_left_half_written(redis, dlq, redis_url):
    ids = make_failed_jobs(redis, QUEUE, 4, dlq=dlq)
    other = connect(redis_url)  # a second client: what expires or changes a hash between read and write

    class ExpiringBetween(Requeuer):
        writes = 0

        def _write_jobs(self, pipe, prepared):  # called after WATCH, before EXEC
            ExpiringBetween.writes += 1
            if ExpiringBetween.writes == 1:
                other.delete(Job.key_for(ids[1]))  # as if its failure TTL ran out just now
            super()._write_jobs(pipe, prepared)

    outcomes = requeue_with(ExpiringBetween, redis, dlq, ids)

    assert ExpiringBetween.writes == 2  # the first MULTI did nothing; the second wrote the jobs whole
    assert [o.result for o in outcomes] == [Result.REQUEUED] * 4
    assert Queue(QUEUE, connection=redis).get_job_ids() == ids  # each once
    rebuilt = Job.fetch(ids[1], connection=redis)
    assert rebuilt.get_status() is JobStatus.QUEUED and rebuilt.func_name and rebuilt.args == ("INV-1",)
    assert rebuilt.meta["requeue_count"] == 1
    assert registry_ids(redis) == [] and dlq.count() == 0 and redis.zcard(dlq.keys.claims) == 0
    assert redis.hget(dlq.keys.metric("requeued"), QUEUE) == b"4"  # counted once
