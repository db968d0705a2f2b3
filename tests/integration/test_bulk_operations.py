"""Bulk operations at scale (issue 20, item 5) on a real server: the pipelined requeue's batches
(ids gone, claimed, rebuilt; two operators at once; counters), `rq-dlq purge` (counts, RQ jobs,
archive events) and the search index (the same answers as the scan, hostile needles)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job

from benchmarks.synthetic import dead_entry_for, make_entries, make_failed_jobs
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.dlq.text import text, text_list
from failure_handlers.operations.delete import delete_dead_jobs
from failure_handlers.operations.report import BulkReport
from failure_handlers.operations.requeue import Result
from failure_handlers.operations.requeue_run import RequeueOptions, requeue_jobs
from failure_handlers.runtime import connect
from failure_handlers.storage.keys import INDEXED_FIELDS
from tests.conftest import TEST_ENV
from tests.integration.conftest import run_script
from tests.integration.test_operator_tooling import database

pytestmark = pytest.mark.integration

QUEUE = "billing"
PREFIX = TEST_ENV["DLQ_PREFIX"]


def options(**overrides: object) -> RequeueOptions:
    values = {"retries": 3, "intervals": (1,), "max_label_values": 100, "serializer_name": "pickle", **overrides}
    return RequeueOptions(**values)  # type: ignore[arg-type]


def requeued_counter(redis: Redis) -> int:
    return int(redis.hget(f"{PREFIX}metrics:requeued", QUEUE) or 0)


# -- requeue ------------------------------------------------------------------------------------


def test_a_batch_with_ids_gone_claimed_and_rebuilt_requeues_the_rest_once(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 12, dlq=dlq)
    gone, claimed, rebuilt, malformed = ids[0], ids[1], ids[2], ids[3]
    dlq.delete([gone])
    redis.delete(Job.key_for(gone))  # and RQ's job: nothing left to requeue
    registry = Queue(QUEUE, connection=redis).failed_job_registry.key
    assert dlq.claims.claim([(claimed, registry)]) == [3]  # another operator's requeue, in progress
    redis.delete(Job.key_for(rebuilt))  # RQ's hash expired: rebuilt from the entry's snapshot
    redis.hdel(dlq.keys.entry(malformed), "exc_type")
    outcomes = {}
    report = requeue_jobs(
        redis, dlq, ids, options(batch=500), on_outcome=lambda outcome: outcomes.update({outcome.job_id: outcome})
    )
    assert outcomes[gone].result is Result.ERROR and "no such job" in outcomes[gone].detail
    assert outcomes[claimed].result is Result.SKIPPED
    assert outcomes[rebuilt].result is Result.REQUEUED and "rebuilt from the DLQ entry" in outcomes[rebuilt].detail
    assert outcomes[malformed].result is Result.ERROR and "missing exc_type" in outcomes[malformed].detail
    assert (report.done, report.skipped, report.errors) == (9, 1, 2)
    queued = Queue(QUEUE, connection=redis).get_job_ids()
    assert sorted(queued) == sorted(set(ids) - {gone, claimed, malformed})
    assert requeued_counter(redis) == 9  # one HINCRBY per batch, by the batch's count
    assert redis.zrange(dlq.keys.claims, 0, -1) == [claimed.encode()]  # the other operator's claim is untouched
    for job_id in queued:
        assert not redis.exists(dlq.keys.entry(job_id))
        assert Job.fetch(job_id, connection=redis).retries_left == 3


def test_two_operators_with_big_batches_in_opposite_orders_requeue_each_job_once(redis, dlq, redis_url):
    ids = make_failed_jobs(redis, QUEUE, 600, dlq=dlq)
    start = threading.Barrier(2)
    reports: list[BulkReport] = []
    requeued: list[str] = []

    def run(order: list[str]) -> None:
        connection = connect(redis_url)
        own = DeadLetterQueue(connection, PREFIX, dlq.ttl_seconds)
        start.wait()
        reports.append(
            requeue_jobs(
                connection,
                own,
                order,
                options(batch=250),
                on_outcome=lambda outcome: outcome.result is Result.REQUEUED and requeued.append(outcome.job_id),
            )
        )

    threads = [threading.Thread(target=run, args=(order,)) for order in (ids, ids[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(requeued) == sorted(ids)  # each id by exactly one of them
    assert sum(report.done for report in reports) == 600 and sum(report.errors for report in reports) == 0
    queued = Queue(QUEUE, connection=redis).get_job_ids()
    assert len(queued) == 600 and sorted(queued) == sorted(ids)
    assert requeued_counter(redis) == 600
    assert redis.zcard(dlq.keys.claims) == 0 and dlq.count() == 0


def test_a_dry_run_of_a_big_batch_changes_nothing(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 300, dlq=dlq)
    before = database(redis)
    report = requeue_jobs(redis, dlq, ids, options(dry_run=True, batch=1000))
    assert report.done == 300 and database(redis) == before


# -- purge --------------------------------------------------------------------------------------


def test_purge_deletes_entries_and_rq_jobs_and_appends_one_purged_event_each(redis, redis_url):
    dlq = DeadLetterQueue(redis, PREFIX, int(TEST_ENV["DLQ_TTL_SECONDS"]), archive_maxlen=10_000)
    ids = make_failed_jobs(redis, QUEUE, 2_100, dlq=dlq)  # three chunks of the delete script
    dangling = next(make_entries(1))
    dlq.add(dangling)
    redis.delete(dlq.keys.entry(dangling.job_id))  # expired: pruned by the purge, not counted
    dlq.search_index.refresh()
    seq_before = int(redis.get(dlq.keys.archive_seq) or 0)
    env = {"REDIS_URL": redis_url, "ARCHIVE_URL": "sqlite:///unused.db", "ARCHIVE_STREAM_MAXLEN": "10000"}
    result = run_script("scripts/dlq.py", "purge", "--yes", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "deleted 2100 entries"
    assert dlq.count() == 0 and redis.zcard(dlq.keys.index) == 0
    assert not redis.keys(f"{PREFIX}entry:*")
    for key in redis.keys(f"{PREFIX}by:*"):  # as before: only the expired entry's members, which no hash names
        assert redis.zrange(key, 0, -1) == [dangling.job_id.encode()]
    assert Queue(QUEUE, connection=redis).failed_job_registry.count == 0
    assert not any(redis.exists(Job.key_for(job_id)) for job_id in ids[:50])
    assert redis.scard(dlq.keys.search_indexed) == 0  # a job that comes back is indexed again
    events = [{text(k): text(v) for k, v in fields.items()} for _, fields in redis.xrange(dlq.keys.archive_events)]
    after = [event for event in events if int(event["seq"]) > seq_before]
    purged = [event for event in after if event["type"] != "audit"]  # and the purge's own audit record
    assert len(purged) == 2_100 and {event["job"] for event in purged} == set(ids)
    assert {(event["type"], event["outcome"]) for event in purged} == {("outcome", "purged")}
    assert [event["type"] for event in after if event["type"] == "audit"] == ["audit"]
    assert int(redis.get(dlq.keys.archive_seq)) == seq_before + 2_101  # one number per event, none skipped


def index_problems(redis: Redis, dlq: DeadLetterQueue) -> list[str]:
    """Every disagreement between the entries and their indexes: a member of the index or of a `by:`
    key without its entry hash (an orphan) or whose entry has another value, an entry missing from
    the index or from the `by:` key of one of its values."""
    problems = []
    indexed = set(text_list(redis.zrange(dlq.keys.index, 0, -1)))
    entries = {text(key).removeprefix(dlq.keys.entry("")) for key in redis.keys(dlq.keys.entry("*"))}
    problems += [f"orphan in the index: {job_id}" for job_id in indexed - entries]
    problems += [f"entry not in the index: {job_id}" for job_id in entries - indexed]
    for job_id in entries:
        for kind, field in INDEXED_FIELDS.items():
            value = text(redis.hget(dlq.keys.entry(job_id), field))
            if value and redis.zscore(dlq.keys.by(kind, value), job_id) is None:
                problems.append(f"entry {job_id} not in {dlq.keys.by(kind, value)}")
    for key in map(text, redis.keys(f"{dlq.keys.prefix}by:*")):
        kind, _, value = key.removeprefix(dlq.keys.prefix + "by:").partition(":")
        for job_id in text_list(redis.zrange(key, 0, -1)):
            if job_id not in entries:
                problems.append(f"orphan in {key}: {job_id}")
            elif text(redis.hget(dlq.keys.entry(job_id), INDEXED_FIELDS[kind])) != value:
                problems.append(f"{job_id} in {key} with another {kind}")
    return problems


def rq_job_failed(redis: Redis, queue: str, job_id: str) -> bool:
    """RQ's failed job is still there: its hash, and its member in the queue's failed registry."""
    registry = Queue(queue, connection=redis).failed_job_registry.key
    return bool(redis.exists(Job.key_for(job_id))) and redis.zscore(registry, job_id) is not None


def failed_ids(redis: Redis, queue: str) -> list[str]:
    return text_list(redis.zrange(Queue(queue, connection=redis).failed_job_registry.key, 0, -1))


def test_a_filtered_purge_removes_exactly_the_matching_entries_with_their_jobs_and_no_index_member_is_left(redis, dlq):
    billing = make_failed_jobs(redis, QUEUE, 1_300, dlq=dlq)  # two delete scripts
    mail = make_failed_jobs(redis, "mail", 200, dlq=dlq)
    key_errors = {job_id for job_id in billing if dlq.get(job_id).exc_type == "KeyError"}  # type: ignore[union-attr]
    assert 0 < len(key_errors) < len(billing)
    both = run_script("scripts/dlq.py", "purge", "--queue", QUEUE, "--exc-type", "KeyError", "--yes")  # rows checked
    assert both.returncode == 0, both.stderr
    assert both.stdout.strip() == f"deleted {len(key_errors)} entries"
    assert index_problems(redis, dlq) == []
    left = set(billing) - key_errors
    assert set(dlq.select_ids(DlqFilter())) == left | set(mail)
    assert not any(redis.exists(Job.key_for(job_id)) for job_id in key_errors)
    assert set(failed_ids(redis, QUEUE)) == left
    result = run_script("scripts/dlq.py", "purge", "--queue", QUEUE, "--yes")  # one index: no row read first
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"deleted {len(left)} entries"
    assert index_problems(redis, dlq) == []
    assert sorted(dlq.select_ids(DlqFilter())) == sorted(mail)
    assert Queue(QUEUE, connection=redis).failed_job_registry.count == 0
    assert not any(redis.exists(Job.key_for(job_id)) for job_id in billing)
    assert all(rq_job_failed(redis, "mail", job_id) for job_id in mail)  # the other queue's jobs untouched


def test_a_job_whose_entry_is_gone_when_its_batch_is_deleted_is_left_alone(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 5, dlq=dlq)
    requeued, expired = ids[0], ids[1]
    dlq.delete([requeued])  # since it was chosen: requeued by another operator (its job is live again)
    redis.delete(dlq.keys.entry(expired))  # its entry expired, its index members left behind
    assert delete_dead_jobs(redis, dlq, ids, outcome="purged") == 3
    assert rq_job_failed(redis, QUEUE, requeued) and rq_job_failed(redis, QUEUE, expired)
    assert not any(redis.exists(Job.key_for(job_id)) for job_id in ids[2:])
    assert sorted(failed_ids(redis, QUEUE)) == sorted([requeued, expired])
    assert dlq.count() == 0 and redis.zcard(dlq.keys.index) == 0


def test_an_entry_added_while_a_purge_runs_is_kept_in_every_index(redis, dlq):
    chosen = make_failed_jobs(redis, QUEUE, 1_500, dlq=dlq)
    assert sorted(dlq.members(DlqFilter()) or []) == sorted(chosen)  # what the purge chose
    late = make_failed_jobs(redis, QUEUE, 20, dlq=dlq)  # the same queue, functions and groups, failed since
    assert delete_dead_jobs(redis, dlq, chosen, outcome="purged") == 1_500
    assert sorted(dlq.select_ids(DlqFilter())) == sorted(late)
    assert index_problems(redis, dlq) == []
    assert all(rq_job_failed(redis, QUEUE, job_id) for job_id in late)
    assert not any(redis.exists(Job.key_for(job_id)) for job_id in chosen)


def test_delete_dead_jobs_with_keep_job_dismisses_them(redis, dlq):
    ids = make_failed_jobs(redis, QUEUE, 1_500, dlq=dlq)
    assert delete_dead_jobs(redis, dlq, ids, keep_job=True, outcome="purged") == 1_500
    assert dlq.count() == 0 and len(dlq.dismissed_ids()) == 1_500
    assert Queue(QUEUE, connection=redis).failed_job_registry.count == 1_500  # RQ's jobs stay failed


# -- search -------------------------------------------------------------------------------------

NEEDLES = [
    "sku-1", "SKU-1", "inv-7", "10.0.0.1", "customer", "api_key", "'", '"', "%", "_", ".*", "\\", "é", "ÉCHEC",
    "\x1f", "\x1e", "\x1eINV", "no-such-text", "priority", " ", "a" * 3000, "\n",
]  # fmt: skip


def mixed_dlq(redis: Redis, dlq: DeadLetterQueue) -> list[str]:
    """Entries of every kind of text, half indexed before the rest was added or changed."""
    ids = make_failed_jobs(redis, QUEUE, 120, dlq=dlq)
    dlq.add_many(make_entries(80))
    dlq.search_index.refresh()
    hostile = dead_entry_for(None, 9, failed_at=time.time())
    dlq.add(hostile.__class__(**{**hostile.__dict__, "exc_message": "Échec: sep\x1fin\x1etext\nline 2 100% _"}))
    dlq.add_many(make_entries(40))  # added after the index: found by the scan of the unindexed
    dlq.delete(ids[:10])  # gone after indexing: the index's hits are checked
    requeued_again = ids[10]
    dlq.delete([requeued_again])
    entry = dead_entry_for(Job.fetch(requeued_again, connection=redis), 10, failed_at=time.time())
    dlq.add(entry.__class__(**{**entry.__dict__, "exc_message": "failed again: ÉCHEC of sku-1 retry"}))
    return ids


def scan(dlq: DeadLetterQueue, filters: DlqFilter, **options: object) -> list[str]:
    return dlq._walk(filters, options.get("newest_first", True), options.get("offset", 0), options.get("limit"), False)  # type: ignore[arg-type]


@pytest.mark.parametrize("needle", NEEDLES)
def test_the_search_index_answers_as_the_scan_does(redis, dlq, needle):
    mixed_dlq(redis, dlq)
    for filters in (
        DlqFilter(search=needle),
        DlqFilter(search=needle, queue="default"),
        DlqFilter(search=needle, until=time.time() - 1),
    ):
        selection = dlq.select(filters, newest_first=True)
        assert selection.ids == scan(dlq, filters), (needle, filters)
        assert selection.how.startswith("searched by")
        assert dlq.select(filters, newest_first=True, offset=3, limit=5).ids == scan(dlq, filters)[3:8]
        assert dlq.count(filters) == len(selection.ids)


def test_the_index_answers_without_reading_the_hashes_of_non_matches(redis, dlq):
    mixed_dlq(redis, dlq)
    redis.config_resetstat()
    selection = dlq.select(DlqFilter(search="no-such-text"), newest_first=True)
    stats = redis.info("commandstats")
    assert selection.ids == [] and selection.how.startswith("searched by the search index")
    hash_reads = stats.get("cmdstat_hmget", {}).get("calls", 0)
    assert hash_reads == 42  # the 40 added later, the hostile one, the re-failed job; never the 200 indexed


def test_a_search_without_an_index_is_a_scan_and_says_so(redis, dlq, redis_url):
    make_failed_jobs(redis, QUEUE, 5, dlq=dlq)
    result = run_script("scripts/dlq.py", "list", "--search", "INV-3", "--json", env={"REDIS_URL": redis_url})
    assert result.returncode == 0, result.stderr
    assert [entry["args"] for entry in json.loads(result.stdout)] == [["INV-3"]]
    assert "note: searched by a scan of 5 entries (no search index yet: run rq-dlq reconcile)" in result.stderr
    assert not redis.exists(dlq.keys.search_text)  # a read never builds it
    reconciled = run_script("scripts/dlq.py", "reconcile", env={"REDIS_URL": redis_url})
    assert "5 indexed for search" in reconciled.stdout
    result = run_script("scripts/dlq.py", "list", "--search", "INV-3", "--json", env={"REDIS_URL": redis_url})
    assert [entry["args"] for entry in json.loads(result.stdout)] == [["INV-3"]]
    assert "note: searched by the search index (5 entries)" in result.stderr
