"""The failure handler's cost in round trips on a real server: one per failure, retried or final,
and none on the success path (counted on the client: one packed write per round trip)."""

from __future__ import annotations

import sys

import pytest
from redis import Redis
from rq import Retry
from rq.job import Job

from failure_handlers import runtime
from failure_handlers.dev.round_trips import RoundTrips, counting_client
from failure_handlers.handler import on_failure
from tests import plain_rq_tasks
from worker_tasks import enqueue


def round_trips_of_one_failure(url: str, retry: Retry | None, retries_left: int | None) -> int:
    client = counting_client(url)
    job = Job.fetch(enqueue(plain_rq_tasks.charge, 1, connection=client, retry=retry).id, connection=client)
    job.retries_left = retries_left
    try:
        plain_rq_tasks.charge(1)
    except ConnectionError:
        exc_info = sys.exc_info()
    before = RoundTrips.count
    on_failure(job, client, *exc_info)
    return RoundTrips.count - before


@pytest.mark.parametrize(
    ("retry", "retries_left", "what"),
    [(None, None, "final, no retries"), (Retry(max=2, interval=1), 0, "final, retries exhausted"),
     (Retry(max=2, interval=1), 2, "retried")],
)  # fmt: skip
def test_one_round_trip_per_failure(redis, redis_url, dlq, retry, retries_left, what):
    round_trips_of_one_failure(redis_url, None, None)  # loads the scripts, as in a long-running worker:
    round_trips_of_one_failure(redis_url, Retry(max=2, interval=1), 2)  # `add`, then `count` (retried)
    assert round_trips_of_one_failure(redis_url, retry, retries_left) == 1, what


def test_final_failure_writes_meta_and_entry_in_that_round_trip(redis, redis_url, dlq):
    round_trips_of_one_failure(redis_url, None, None)
    [entry] = dlq.list()
    meta = Job.fetch(entry.job_id, connection=redis).get_meta()
    assert [f["attempt"] for f in meta["failures"]] == [1] and entry.attempts == 1


def test_the_final_meta_save_stores_no_retries_left_in_the_add_script(redis, redis_url, dlq):
    """The meta save is the add script's first step (lua/add.lua ARGV[20..22]): with a retry budget,
    `retries_left` 0 with it, before RQ itself stores it."""
    round_trips_of_one_failure(redis_url, Retry(max=2, interval=1), 0)
    [entry] = dlq.list()
    assert redis.hget(f"rq:job:{entry.job_id}", "retries_left") == b"0"
    assert [f["attempt"] for f in Job.fetch(entry.job_id, connection=redis).get_meta()["failures"]] == [3]


def test_a_meta_save_that_fails_still_writes_the_entry_and_is_raised(redis, dlq):
    """The job's hash replaced by a string (WRONGTYPE for HSET): the entry is written all the same and
    the script then replies with the meta's error, as the separate HSET it replaced did."""
    from redis.exceptions import ResponseError

    from failure_handlers.jobs.meta import FinalMetaSave
    from tests.factories import dead_entry

    redis.set("rq:job:not-a-hash", "x")
    entry = dead_entry("not-a-hash")
    with pytest.raises(ResponseError, match="the job meta was not saved: WRONGTYPE"):
        dlq.add(entry, FinalMetaSave("rq:job:not-a-hash", b"meta", True))
    assert dlq.get("not-a-hash") == entry
    assert redis.get("rq:job:not-a-hash") == b"x"


def test_waiting_for_replicas_adds_no_round_trip(redis, redis_url, dlq, monkeypatch, log_messages):
    if redis.info("replication").get("connected_slaves"):
        pytest.skip("this test's server has replicas; the test needs one without")
    monkeypatch.setenv("DLQ_WAIT_REPLICAS", "1")  # this server has no replica: WAIT answers 0 after the timeout
    monkeypatch.setenv("DLQ_WAIT_TIMEOUT_MS", "50")
    runtime.settings.cache_clear()
    round_trips_of_one_failure(redis_url, None, None)
    assert round_trips_of_one_failure(redis_url, None, None) == 1
    assert len(dlq.list()) == 2
    warnings = [message for message in log_messages if message.startswith("WARNING")]
    assert len(warnings) == 2 and "0 of 1 replicas acknowledged the DLQ entry within 50 ms" in warnings[-1]


# What one failure costs the server (INFO commandstats, the commands a Lua script runs included):
# a final failure is the meta HSET and the `add` script (EVALSHA; inside: EXISTS of the entry and the
# sweep's marker, 2 HINCRBY, HSET, EXPIREAT, 6 ZADD, ZRANGE); a retried one the `count` script
# (EVALSHA; HSET, 2 HINCRBY).
# Pinned, so that the DLQ's cost on the one server every worker shares cannot grow unnoticed.
FINAL_FAILURE_COMMANDS = 14
RETRIED_FAILURE_COMMANDS = 4


def server_commands(redis: Redis) -> int:
    stats = redis.info("commandstats")
    return sum(int(value["calls"]) for name, value in stats.items() if name != "cmdstat_info")


def commands_of_one_failure(redis: Redis, retry: Retry | None, retries_left: int | None) -> int:
    """The server commands of the handler's call alone (the job enqueued and fetched before)."""
    job = Job.fetch(enqueue(plain_rq_tasks.charge, 1, connection=redis, retry=retry).id, connection=redis)
    job.retries_left = retries_left
    try:
        plain_rq_tasks.charge(1)
    except ConnectionError:
        exc_info = sys.exc_info()
    before = server_commands(redis)
    on_failure(job, redis, *exc_info)
    return server_commands(redis) - before


@pytest.mark.parametrize(
    ("retry", "retries_left", "commands"),
    [(None, None, FINAL_FAILURE_COMMANDS), (Retry(max=2, interval=1), 0, FINAL_FAILURE_COMMANDS),
     (Retry(max=2, interval=1), 2, RETRIED_FAILURE_COMMANDS)],
)  # fmt: skip
def test_server_commands_per_failure_are_pinned(redis, dlq, retry, retries_left, commands):
    warm_up = [(None, None), (Retry(max=2, interval=1), 0), (Retry(max=2, interval=1), 2)]
    for warm_retry, warm_left in warm_up:  # scripts loaded, the values and counter series seen, the first sweep
        commands_of_one_failure(redis, warm_retry, warm_left)
    assert commands_of_one_failure(redis, retry, retries_left) == commands
    assert len(dlq.list()) == 2 + (retries_left != 2)
