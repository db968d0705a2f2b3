"""Incident controls on a real server with real `rq worker` processes of our worker class: pause and
resume a queue (`queues/`), and fix-and-replay a dead job with edited arguments (`operations/replay.py`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue, Worker
from rq.job import Job

from failure_handlers.audit import AuditLog
from failure_handlers.dev.worker_process import PROJECT_ROOT, start_worker, stop_worker
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.replay import check_replay, replay_job
from failure_handlers.operations.requeue import Result
from failure_handlers.operations.requeue_run import RequeueOptions
from failure_handlers.queues.pause import pause_queue, resume_queue
from failure_handlers.queues.worker import PAUSE_POLL_SECONDS
from failure_handlers.storage.keys import META_MAX_RETRIES, META_REPLAY, DlqKeys
from tests.conftest import TEST_ENV
from tests.incident_tasks import STARTED, charge, mark
from tests.integration.conftest import assert_one_line_error
from tests.polling import wait_for

pytestmark = pytest.mark.integration

WORKER_CLASS = ("-w", "failure_handlers.queues.PausableWorker")
QUIET_SECONDS = 2 * PAUSE_POLL_SECONDS + 2  # how long a paused queue is watched for a job that starts


@pytest.fixture
def workers(redis: Redis, redis_url: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start `rq worker QUEUES -w PausableWorker` (the Procfile's line); all stopped after the test."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(*queues: str) -> subprocess.Popen[bytes]:
        log_path = tmp_path / f"worker-{len(started)}.log"
        before = len(Worker.all(connection=redis))
        with open(log_path, "wb") as log:
            process = start_worker(redis_url, queues, env=TEST_ENV, extra_args=WORKER_CLASS, output=log)
        started.append((process, log_path))
        wait_for(lambda: process.poll() is not None or len(Worker.all(connection=redis)) > before, 20, "the worker")
        assert process.poll() is None, log_path.read_text()
        return process

    yield start
    for process, log_path in started:
        stop_worker(process)
        sys.stderr.write(f"--- {log_path.name} ---\n" + "".join(log_path.read_text().splitlines(True)[-10:]))


def rq_dlq(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "failure_handlers.cli", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
    )


def started(redis: Redis, queue: str) -> set[str]:
    return {member.decode() for member in redis.smembers(STARTED + queue)}


def stays_paused(redis: Redis, queue: str, queued: int) -> None:
    """Watch `queue` for QUIET_SECONDS: no job starts, none leaves the queue or sits in its intermediate queue."""
    deadline = time.monotonic() + QUIET_SECONDS
    rq_queue = Queue(queue, connection=redis)
    while time.monotonic() < deadline:
        assert not started(redis, queue), "a job of the paused queue started"
        assert rq_queue.started_job_registry.get_job_count(cleanup=False) == 0
        time.sleep(0.1)
    assert rq_queue.count == queued
    assert redis.llen(rq_queue.intermediate_queue_key) == 0


def test_paused_queue_two_workers_500_jobs_none_start_then_all_finish(redis, workers):
    work, other = Queue("work", connection=redis), Queue("other", connection=redis)
    work.enqueue(mark, "warmup", 0)  # RQ knows the queue; the workers prove they run it
    for _ in range(2):
        workers("work", "other")
    wait_for(lambda: started(redis, "warmup"), 30, "the warm-up job")
    wait_for(lambda: all(w.get_state() == "idle" for w in Worker.all(connection=redis)), 20, "both workers idle")

    result = rq_dlq("pause", "work", "--reason", "bad deploy")
    assert result.returncode == 0, result.stderr
    assert "paused queue 'work'" in result.stdout
    with redis.pipeline(transaction=False) as pipe:  # enqueued while both workers sat blocked on the queues
        jobs = [Queue.prepare_data(mark, ("work", n), job_id=f"work-{n}") for n in range(500)]
        work.enqueue_many(jobs, pipeline=pipe)
        pipe.execute()
    for n in range(20):
        other.enqueue(mark, "other", n)
    wait_for(lambda: len(started(redis, "other")) == 20, 60, "the other queue to be served")
    stays_paused(redis, "work", 500)

    result = rq_dlq("resume", "work")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: len(started(redis, "work")) == 500, 120, "all 500 jobs after resume")
    wait_for(
        lambda: work.finished_job_registry.get_job_count(cleanup=False) == 501, 30, "500 finished (and the warm-up)"
    )
    assert work.count == 0


def test_idle_worker_blocked_on_the_queue_when_the_pause_came(redis, workers):
    """One queue: RQ blocks in BLMOVE into the intermediate queue; the job it takes after the pause goes back."""
    solo = Queue("solo", connection=redis)
    solo.enqueue(mark, "warmup-solo", 0)
    workers("solo")
    wait_for(lambda: started(redis, "warmup-solo"), 30, "the warm-up job")
    wait_for(lambda: Worker.all(connection=redis)[0].get_state() == "idle", 20, "the worker idle")
    time.sleep(0.5)  # let it enter BLMOVE (its state is set just before)

    assert rq_dlq("pause", "solo").returncode == 0
    solo.enqueue(mark, "solo", 1, job_id="late")
    stays_paused(redis, "solo", 1)
    assert Job.fetch("late", connection=redis).get_status() == "queued"

    assert rq_dlq("resume", "solo").returncode == 0
    wait_for(lambda: started(redis, "solo") == {"1"}, 30, "the job after resume")


def test_pause_errors_and_dry_run(redis):
    assert_one_line_error(rq_dlq("pause", "nosuchqueue"), "unknown queue 'nosuchqueue'")
    assert not redis.exists(TEST_ENV["DLQ_PREFIX"] + "queues:paused")
    Queue("known", connection=redis).enqueue(mark, "known", 0)
    result = rq_dlq("pause", "known", "--dry-run")
    assert result.returncode == 0 and "would pause" in result.stdout
    assert not redis.exists(TEST_ENV["DLQ_PREFIX"] + "queues:paused")
    assert "not paused" in rq_dlq("resume", "known").stdout
    assert rq_dlq("pause", "known", "--reason", "bad deploy").returncode == 0
    records = sorted(AuditLog(redis, TEST_ENV["DLQ_PREFIX"]).read(), key=lambda record: record.id)
    assert [(r.action, r.via, r.queue, r.outcome) for r in records] == [  # the dry run recorded nothing
        ("resume", "cli", "known", "nothing"),
        ("pause", "cli", "known", "ok"),
    ]
    assert records[1].detail == "bad deploy"


def dead_charge(redis: Redis, dlq: DeadLetterQueue, workers, **kwargs: object) -> str:
    job = Queue("billing", connection=redis).enqueue(charge, **kwargs)
    wait_for(lambda: dlq.get(job.id) is not None, 30, "the dead-lettering")
    return job.id


def test_replay_with_edited_arguments_succeeds(redis, dlq, workers):
    workers("billing")
    job_id = dead_charge(redis, dlq, workers, amount=-5, token="tok_live_1")
    entry = dlq.get(job_id)
    assert json.loads(entry.kwargs)["token"] == "***"  # redacted in the DLQ

    result = rq_dlq("requeue", job_id, "--kwargs", '{"amount": 5, "token": "tok_live_1"}', "--dry-run")
    assert result.returncode == 0 and "would requeue" in result.stdout
    assert dlq.get(job_id) is not None

    result = rq_dlq("requeue", job_id, "--kwargs", '{"amount": 5, "token": "tok_live_1"}')
    assert result.returncode == 0, result.stderr
    assert "replayed with edited kwargs" in result.stdout
    job = Job.fetch(job_id, connection=redis)
    wait_for(lambda: job.get_status(refresh=True) == "finished", 30, "the replayed job to succeed")
    job.refresh()
    assert job.return_value() == "charged 5 EUR"
    replay = job.meta[META_REPLAY]
    assert replay["of_entry"] == job_id and replay["edited"] == ["kwargs"]
    assert json.loads(replay["original_kwargs"]) == {"amount": -5, "token": "***"}
    assert job.meta[META_MAX_RETRIES] == int(TEST_ENV["RETRY_MAX"])  # a fresh budget
    assert dlq.get(job_id) is None
    [record] = AuditLog(redis, TEST_ENV["DLQ_PREFIX"]).read()  # the dry run recorded nothing
    assert (record.action, record.via, record.ids, record.outcome) == ("replay", "cli", [job_id], "ok")
    assert record.detail == "edited: kwargs" and "tok_live_1" not in str(record)  # never the values


def test_replay_keeps_a_redacted_argument_only_when_not_given(redis, dlq, workers):
    """Left out, kwargs keep the job's real (unredacted) values; given back as *** they are refused."""
    workers("billing")
    job_id = dead_charge(redis, dlq, workers, amount=0, token="tok_live_2")
    result = rq_dlq("requeue", job_id, "--kwargs", '{"amount": 7, "token": "***"}')
    assert_one_line_error(result, "kwargs['token'] is ***", "give its real value")
    assert dlq.get(job_id) is not None and Queue("billing", connection=redis).count == 0


def test_replay_errors_change_nothing(redis, dlq, workers):
    workers("billing")
    job_id = dead_charge(redis, dlq, workers, amount=-1, token="t")
    assert_one_line_error(rq_dlq("requeue", job_id, "--args", "[1,"), "args is not valid JSON")
    assert_one_line_error(rq_dlq("requeue", job_id, "--kwargs", "[1]"), "kwargs must be a JSON object")
    assert_one_line_error(rq_dlq("requeue", "nosuchjob", "--args", "[1]"), "no DLQ entry 'nosuchjob'")
    assert_one_line_error(rq_dlq("requeue", job_id, "other", "--args", "[1]"), "exactly one job")
    assert dlq.get(job_id) is not None and Queue("billing", connection=redis).count == 0


def test_replay_through_editor(redis, dlq, workers, tmp_path):
    workers("billing")
    job_id = dead_charge(redis, dlq, workers, amount=-3, token="tok")
    editor = tmp_path / "editor.py"
    editor.write_text(
        "import json, sys\n"
        "path = sys.argv[1]\n"
        "lines = [l for l in open(path) if not l.startswith('#')]\n"
        "data = json.loads(''.join(lines))\n"
        "data['kwargs'].update(amount=3, token='tok')\n"
        "open(path, 'w').write(json.dumps(data))\n"
    )
    result = rq_dlq("requeue", job_id, "--edit", env={"EDITOR": f"{sys.executable} {editor}"})
    assert result.returncode == 0, result.stderr
    job = Job.fetch(job_id, connection=redis)
    wait_for(lambda: job.get_status(refresh=True) == "finished", 30, "the replayed job to succeed")


def test_eight_concurrent_replays_enqueue_one_job(redis, dlq, workers):
    worker = workers("billing")
    job_id = dead_charge(redis, dlq, workers, amount=-2, token="tok")
    stop_worker(worker)  # the replayed job stays queued, to count it
    plan = check_replay(redis, dlq, job_id, None, {"amount": 2, "token": "tok"}, "pickle")
    options = RequeueOptions(3, (1,), 100, "pickle")
    outcomes = []
    barrier = threading.Barrier(8)

    def run() -> None:
        from failure_handlers.runtime import connect

        connection = connect(os.environ["REDIS_URL"])
        own = DeadLetterQueue(connection, TEST_ENV["DLQ_PREFIX"], int(TEST_ENV["DLQ_TTL_SECONDS"]))
        barrier.wait()
        outcomes.append(replay_job(connection, own, plan, options))

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    results = sorted(outcome.result.value for outcome in outcomes)
    assert results.count(Result.REQUEUED.value) == 1, results
    assert len(results) == 8 and set(results) <= {"requeued", "skipped"}
    assert Queue("billing", connection=redis).get_job_ids() == [job_id]  # queued once
    assert Job.fetch(job_id, connection=redis).meta[META_REPLAY]["edited"] == ["kwargs"]


def test_the_python_api_records_its_pause_and_resume_by_the_os_user(redis):
    Queue("known", connection=redis).enqueue(mark, "known", 0)
    keys = DlqKeys(TEST_ENV["DLQ_PREFIX"])
    assert pause_queue(redis, keys, "known", "maintenance").action == "paused"
    assert resume_queue(redis, keys, "known", dry_run=True).action == "would resume"  # a dry run: not recorded
    assert resume_queue(redis, keys, "known").action == "resumed"
    records = sorted(AuditLog(redis, TEST_ENV["DLQ_PREFIX"]).read(), key=lambda record: record.id)
    assert [(r.action, r.via, r.queue, r.outcome, r.detail) for r in records] == [
        ("pause", "python", "known", "ok", "maintenance"),
        ("resume", "python", "known", "ok", ""),
    ]
