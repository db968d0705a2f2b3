"""`LeanJob`: which failed jobs a bulk requeue reads lean, and the HSET it writes for them. No Redis."""

from __future__ import annotations

import json
import pickle
import zlib

import pytest
from rq.job import JobStatus
from rq.serializers import DefaultSerializer

from failure_handlers.jobs.lean_job import EMPTY_EXC_INFO, LEAN_FIELDS, LeanJob


def values(**overrides: bytes | None) -> list[bytes | None]:
    """An HMGET of LEAN_FIELDS for a usual failed job, with `overrides`."""
    usual: dict[str, bytes | None] = {
        "status": b"failed",
        "origin": b"billing",
        "meta": pickle.dumps({"max_retries": 3}),
        "retry_intervals": b"[30, 60]",
        "timeout": b"180",
        "ttl": None,
        "failure_ttl": None,
        "data": zlib.compress(b"call"),
        "rate_limit_key": None,
    }
    usual.update(overrides)
    return [usual[name] for name in LEAN_FIELDS]


def test_a_usual_failed_job_is_read_lean():
    job = LeanJob.read("j1", values(), DefaultSerializer)
    assert job is not None
    assert (job.status, job.origin, job.meta, job.retry_intervals) == (
        JobStatus.FAILED,
        "billing",
        {"max_retries": 3},
        [30, 60],
    )
    assert job.data == b"call" and job.get_status() is JobStatus.FAILED


@pytest.mark.parametrize(
    "overrides",
    [
        {"status": None},  # no hash (or no status): RQ's restore decides
        {"data": None},
        {"status": b"no such status"},
        {"meta": b"not a pickle"},  # RQ keeps unreadable meta's bytes
        {"ttl": b"600"},  # RQ's save also sets TTLs on the dependency keys
        {"rate_limit_key": b"limit"},
        {"retry_intervals": b"not json"},
    ],
)
def test_an_unusual_job_goes_the_rq_job_way(overrides):
    assert LeanJob.read("j1", values(**overrides), DefaultSerializer) is None


def test_the_hset_clears_the_run_and_sets_what_rq_sets():
    job = LeanJob.read("j1", values(timeout=None, retry_intervals=None), DefaultSerializer)
    assert job is not None
    job.retries_left = 3
    job.retry_intervals = [5]
    job.meta["requeue_count"] = 1

    fields = job.enqueue_fields("billing", 180, DefaultSerializer)

    assert fields["status"] == "queued" and fields["started_at"] == fields["ended_at"] == ""
    assert fields["exc_info"] == EMPTY_EXC_INFO and zlib.decompress(EMPTY_EXC_INFO) == b""
    assert fields["retries_left"] == 3 and json.loads(fields["retry_intervals"]) == [5] and fields["timeout"] == 180
    assert pickle.loads(fields["meta"]) == {"max_retries": 3, "requeue_count": 1}
    assert "origin" not in fields  # already the queue's name


def test_the_hset_leaves_out_what_is_stored_already_and_the_budget_of_zero_retries():
    job = LeanJob.read("j1", values(origin=b""), DefaultSerializer)
    assert job is not None

    fields = job.enqueue_fields("billing", 180, DefaultSerializer)

    assert fields["origin"] == "billing"  # the entry's queue, as RQ's _prepare_for_queue writes it
    assert not {"retries_left", "retry_intervals", "timeout"} & set(fields)  # RQ's save would write the same
