"""The job snapshot a DLQ entry keeps: compact, without empty fields, and restored alike. fakeredis."""

from __future__ import annotations

import json

import fakeredis
from rq import Queue, Retry

from failure_handlers.jobs.snapshot import rebuild_job, take_snapshot

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
