"""The job snapshot a DLQ entry keeps: compact, without empty fields, and restored alike. fakeredis."""

from __future__ import annotations

import base64
import json
import zlib
from datetime import UTC, datetime

import fakeredis
import pytest
import rq
from rq import Callback, Queue, Retry
from rq.job import Job
from rq.webhook import Webhook

from failure_handlers.jobs.snapshot import MIRRORED_RQ, job_fields, rebuild_job, take_snapshot

_DROPPED = {"status", "started_at", "ended_at", "last_heartbeat", "worker_name", "exc_info", "result", "meta"}


def _job(**options: object):
    connection = fakeredis.FakeRedis()
    queue = Queue("billing", connection=connection)
    return connection, queue.enqueue("worker_tasks.example_tasks.import_invoice", 42, currency="EUR", **options)


def test_a_snapshot_is_compact_and_has_no_empty_fields():
    _, job = _job(retry=Retry(max=3, interval=[30, 60, 120]))
    text = take_snapshot(job)
    stored = json.loads(text)
    assert text == json.dumps(stored, separators=(",", ":"))  # no separator spaces
    assert "" not in stored.values()
    assert "success_callback_name" not in stored  # empty in RQ's own hash: '' there
    assert stored["origin"] == "billing"


def test_a_job_rebuilt_from_it_equals_the_job():
    connection, job = _job(retry=Retry(max=3, interval=[30, 60, 120]), job_timeout=90, description="", result_ttl=60)
    rebuilt = rebuild_job(connection, job.id, take_snapshot(job))
    original = {k: v for k, v in job.to_dict(include_meta=False).items() if k not in _DROPPED}
    restored = {k: v for k, v in rebuilt.to_dict(include_meta=False).items() if k not in _DROPPED}
    assert restored == original
    assert (rebuilt.args, rebuilt.kwargs, rebuilt.retries_left, rebuilt.timeout) == ((42,), {"currency": "EUR"}, 3, 90)


def _every_option_job():
    """A job with every field rq 3.0's `Job.to_dict` writes set (callbacks, dependency, repeat, webhooks...)."""
    connection = fakeredis.FakeRedis()
    queue = Queue("billing", connection=connection)
    first = queue.enqueue("worker_tasks.example_tasks.import_invoice", 1)
    job = Job.create(
        "worker_tasks.example_tasks.import_invoice",
        args=(42,),
        kwargs={"currency": "EUR"},
        connection=connection,
        result_ttl=60,
        ttl=600,
        description="an invoice",
        depends_on=first,
        timeout=90,
        retry=Retry(max=3, interval=[30, 60, 120]),
        origin="billing",
        failure_ttl=3600,
        group_id="nightly",
        on_success=Callback("worker_tasks.example_tasks.import_invoice", timeout=5),
        on_failure=Callback("failure_handlers.handler.on_failure", timeout=7),
        on_stopped=Callback("worker_tasks.example_tasks.import_invoice", timeout=9),
        webhooks=[Webhook("https://hooks.example.com/rq", "failed", method="POST")],
    )
    job.repeats_left, job.repeat_intervals = 2, [10, 20]
    job.rate_limit_key, job.rate_limit_concurrency = "invoices", 4
    job.enqueue_at_front, job.enqueue_at_front_on_retry = True, True
    job.allow_dependency_failures = False
    job.number_of_retries = 1
    job.enqueued_at = datetime(2026, 11, 29, 12, 0, 1, 234567, tzinfo=UTC)
    return job


@pytest.mark.parametrize("make", [lambda: _job()[1], lambda: _job(retry=Retry(max=1))[1], _every_option_job])
def test_job_fields_mirror_to_dict_field_for_field(make):
    """`job_fields` (the snapshot's source, without zlib) is what rq's `Job.to_dict` writes, less the
    fields a snapshot drops, with `data` uncompressed: a failure here means rq's job format moved."""
    job = make()
    expected = {k: v for k, v in job.to_dict(include_meta=False, include_result=False).items() if k not in _DROPPED}
    expected["data"] = zlib.decompress(expected["data"])
    assert job_fields(job) == expected
    assert rq.__version__.startswith(MIRRORED_RQ)  # pinned rq: the mirror is what the handler uses


def test_a_job_with_every_option_is_rebuilt_alike_from_uncompressed_data():
    job = _every_option_job()
    text = take_snapshot(job)
    assert json.loads(text)["data"]["b64"] == base64.b64encode(job.data).decode()  # as in memory: not zlib
    rebuilt = rebuild_job(job.connection, job.id, text)
    original = {k: v for k, v in job.to_dict(include_meta=False).items() if k not in _DROPPED}
    assert {k: v for k, v in rebuilt.to_dict(include_meta=False).items() if k not in _DROPPED} == original


def test_under_another_rq_release_the_snapshot_comes_from_to_dict(monkeypatch):
    job = _every_option_job()
    monkeypatch.setattr(rq, "__version__", "3.1.0")
    from_rq = json.loads(take_snapshot(job))
    assert zlib.decompress(base64.b64decode(from_rq["data"]["b64"])) == job.data  # RQ's own (compressed) field
    monkeypatch.undo()
    assert {k: v for k, v in json.loads(take_snapshot(job)).items() if k != "data"} == {
        k: v for k, v in from_rq.items() if k != "data"
    }
    # An entry written before the mirror (or under another rq) holds RQ's compressed data: rebuilt alike.
    assert rebuild_job(job.connection, job.id, json.dumps(from_rq)).to_dict(include_meta=False) == job.to_dict(
        include_meta=False
    )
