"""The reconciler's hold of RQ's maintenance lock (operations/maintenance_lock.py), on fakeredis + lupa."""

from __future__ import annotations

import fakeredis
import pytest

from failure_handlers.operations.maintenance_lock import (
    HOLD_SECONDS,
    LEFT_BEHIND_SECONDS,
    RQ_LOCK_SECONDS,
    MaintenanceLock,
)

KEY = "rq:clean_registries:default"


@pytest.fixture
def redis():
    return fakeredis.FakeRedis()


def lock(redis) -> MaintenanceLock:  # noqa: ANN001 - a fakeredis client
    return MaintenanceLock(redis, "test:dlq:", KEY)


def test_a_free_lock_is_taken_for_a_minute_and_given_back(redis):
    ours = lock(redis)
    assert ours.take()
    assert redis.get(KEY) == ours.token.encode() and 0 < redis.ttl(KEY) <= HOLD_SECONDS
    ours.release()
    assert not redis.exists(KEY)


def test_a_worker_cleaning_now_keeps_its_lock(redis):
    redis.set(KEY, 1, ex=RQ_LOCK_SECONDS)  # as rq.Queue.acquire_maintenance_lock sets it
    assert not lock(redis).take()
    assert redis.get(KEY) == b"1"


def test_a_workers_lock_left_behind_is_taken_over(redis):
    redis.set(KEY, 1, ex=RQ_LOCK_SECONDS - LEFT_BEHIND_SECONDS - 5)  # held longer than any cleanup takes
    ours = lock(redis)
    assert ours.take()
    assert redis.get(KEY) == ours.token.encode() and redis.ttl(KEY) <= HOLD_SECONDS


def test_another_reconcilers_lock_is_never_taken_over_nor_released(redis):
    first, second = lock(redis), lock(redis)
    assert first.take()
    assert not second.take()
    second.release()
    assert redis.get(KEY) == first.token.encode()
