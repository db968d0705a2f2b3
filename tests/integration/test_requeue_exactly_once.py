"""The requeue orchestration (`requeue_jobs`) and `Requeuer`, called directly on a real server: each
job is enqueued exactly once, whoever else requeues it at the same time or died half-way."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from benchmarks.synthetic import make_failed_jobs
from failure_handlers.dlq import claims as claims_module
from failure_handlers.dlq.claims import CLAIM_STALE_SECONDS
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.report import BulkReport
from failure_handlers.operations.requeue import Outcome, Result
from failure_handlers.operations.requeue_run import RequeueOptions, requeue_jobs
from failure_handlers.runtime import connect
from tests.integration.test_operator_tooling import database

QUEUE = "billing"
RUNS = 8  # concurrent requeues of the same ids


def options(**overrides: object) -> RequeueOptions:
    values = {"retries": 3, "intervals": (1,), "max_label_values": 100, "serializer_name": "pickle", **overrides}
    return RequeueOptions(**values)  # type: ignore[arg-type]


def registry_ids(redis: Redis) -> list[str]:
    return Queue(QUEUE, connection=redis).failed_job_registry.get_job_ids()


def claim_and_die(dlq: DeadLetterQueue, redis: Redis, ids: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """What a requeue that died after its claim leaves behind, `CLAIM_STALE_SECONDS` ago."""
    registry = Queue(QUEUE, connection=redis).failed_job_registry.key
    long_ago = time.time() - CLAIM_STALE_SECONDS - 1
    with monkeypatch.context() as patch:
        patch.setattr(claims_module, "time", SimpleNamespace(time=lambda: long_ago))
        codes = dlq.claims.claim([(job_id, registry) for job_id in ids])
    assert codes == [3] * len(ids)  # entry and registry membership taken


def test_concurrent_runs_enqueue_each_job_exactly_once(redis, dlq, redis_url):
    ids = make_failed_jobs(redis, QUEUE, 200, dlq=dlq)
    start = threading.Barrier(RUNS)
    reports: list[BulkReport] = []
    requeued: list[str] = []

    def run() -> None:
        connection = connect(redis_url)  # one connection per run, as separate operators would have
        own_dlq = DeadLetterQueue(connection, dlq.keys.prefix, dlq.ttl_seconds)
        start.wait()
        report = requeue_jobs(
            connection,
            own_dlq,
            ids,
            options(batch=25),
            on_outcome=lambda outcome: outcome.result is Result.REQUEUED and requeued.append(outcome.job_id),
        )
        reports.append(report)

    threads = [threading.Thread(target=run) for _ in range(RUNS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == RUNS
    assert sorted(requeued) == sorted(ids)  # each id requeued by exactly one run
    assert sum(report.done for report in reports) == 200
    assert sum(report.skipped for report in reports) == (RUNS - 1) * 200
    assert sum(report.errors for report in reports) == 0
    queued = Queue(QUEUE, connection=redis).get_job_ids()
    assert len(queued) == 200 and sorted(queued) == sorted(ids)
    assert [job.meta["requeue_count"] for job in Job.fetch_many(ids, connection=redis)] == [1] * 200


def test_concurrent_runs_leave_no_entry_claim_or_failed_registry_member(redis, dlq, redis_url):
    ids = make_failed_jobs(redis, QUEUE, 60, dlq=dlq)
    threads = [
        threading.Thread(target=requeue_jobs, args=(connect(redis_url), dlq, ids, options(batch=7)))
        for _ in range(RUNS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert dlq.count() == 0 and dlq.get_many(ids) == [None] * 60
    assert redis.zcard(dlq.keys.claims) == 0 and registry_ids(redis) == []
    assert Queue(QUEUE, connection=redis).count == 60


def test_a_run_gives_back_the_jobs_of_a_requeue_that_died_and_takes_them_once(redis, dlq, monkeypatch):
    ids = make_failed_jobs(redis, QUEUE, 10, dlq=dlq)
    claim_and_die(dlq, redis, ids[:4], monkeypatch)
    assert dlq.count() == 6  # the claimed entries left the DLQ's indexes

    first = requeue_jobs(redis, dlq, ids, options())
    second = requeue_jobs(redis, dlq, ids, options())

    assert (first.done, first.skipped, first.errors) == (10, 0, 0)
    assert (second.done, second.skipped, second.errors) == (0, 10, 0)
    assert sorted(Queue(QUEUE, connection=redis).get_job_ids()) == sorted(ids)
    assert redis.zcard(dlq.keys.claims) == 0 and dlq.count() == 0


def test_release_stale_returns_the_entries_to_the_dlq(redis, dlq, monkeypatch):
    ids = make_failed_jobs(redis, QUEUE, 5, dlq=dlq)
    claim_and_die(dlq, redis, ids, monkeypatch)
    assert dlq.count() == 0 and registry_ids(redis) == []

    assert dlq.claims.release_stale() == 5

    assert dlq.select_ids(DlqFilter()) == ids and redis.zcard(dlq.keys.claims) == 0
    report = requeue_jobs(redis, dlq, ids, options())
    assert report.done == 5 and sorted(Queue(QUEUE, connection=redis).get_job_ids()) == sorted(ids)


def test_a_claim_in_progress_is_not_taken_from_its_requeue(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 3, dlq=dlq)
    registry = Queue(QUEUE, connection=redis).failed_job_registry.key
    dlq.claims.claim([(ids[0], registry)])  # another requeue, still working on it

    outcomes: list[Outcome] = []
    report = requeue_jobs(redis, dlq, ids, options(), on_outcome=outcomes.append)

    assert (report.done, report.skipped) == (2, 1)
    assert outcomes[0] == Outcome(ids[0], Result.SKIPPED, "already claimed by another requeue")
    assert Queue(QUEUE, connection=redis).get_job_ids() == ids[1:]
    assert redis.zrange(dlq.keys.claims, 0, -1) == [ids[0].encode()]


def test_dry_run_changes_nothing_not_even_a_stale_claim(redis, dlq, monkeypatch):
    ids = make_failed_jobs(redis, QUEUE, 12, dlq=dlq)
    claim_and_die(dlq, redis, ids[:2], monkeypatch)
    before = database(redis)
    outcomes: list[Outcome] = []

    report = requeue_jobs(redis, dlq, [*ids, "no-such-job"], options(dry_run=True, batch=5), on_outcome=outcomes.append)

    assert database(redis) == before
    assert (report.done, report.skipped, report.errors, report.selected) == (12, 0, 1, 13)
    assert report.line().startswith("would requeue 12, skipped 0, errors 1 (")
    assert [outcome.result for outcome in outcomes] == [Result.WOULD_REQUEUE] * 12 + [Result.ERROR]


def test_ids_are_requeued_once_each_in_the_order_given(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 6, dlq=dlq)
    batches: list[tuple[int, int]] = []

    report = requeue_jobs(redis, dlq, [*ids, *ids[:3]], options(batch=4), on_batch=lambda *done: batches.append(done))

    assert report.selected == 6 and report.done == 6
    assert batches == [(4, 6), (6, 6)]
    assert Queue(QUEUE, connection=redis).get_job_ids() == ids  # oldest failure first


def test_at_front_puts_the_jobs_ahead_in_failure_order(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 4, dlq=dlq)
    waiting = Queue(QUEUE, connection=redis).enqueue("worker_tasks.example_tasks.add", 1, 2)

    requeue_jobs(redis, dlq, ids, options(at_front=True))

    assert Queue(QUEUE, connection=redis).get_job_ids() == [*ids, waiting.id]


def test_requeued_jobs_get_the_fresh_budget(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 2, dlq=dlq)

    requeue_jobs(redis, dlq, ids, options(retries=5, intervals=(2, 4)))

    for job in Job.fetch_many(ids, connection=redis):
        assert job.retries_left == 5 and job.meta["max_retries"] == 5
