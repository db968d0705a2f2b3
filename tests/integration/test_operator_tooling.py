"""Finding, grouping, filtering and safely putting back what failed (scripts against a real server)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from rq import Queue, SimpleWorker
from rq.job import Job
from rq.registry import FailedJobRegistry

from failure_handlers import runtime
from failure_handlers.dev.embedded_redis import embedded_server
from failure_handlers.dev.worker_process import PROJECT_ROOT
from tests.integration.conftest import assert_one_line_error, run_script
from worker_tasks import enqueue, flaky_sync, import_invoice

NEVER = 99  # flaky_sync(NEVER) always fails with ConnectionError


def dead_jobs(redis, *specs):
    """Run each (queue, func, args) once without retries in an in-process worker; return the jobs."""
    jobs = [enqueue(func, *args, queue=queue, connection=redis, retry=None) for queue, func, args in specs]
    for queue in dict.fromkeys(queue for queue, _, _ in specs):
        SimpleWorker([Queue(queue, connection=redis)], connection=redis).work(burst=True)
    return jobs


@pytest.fixture
def mixed(redis):
    """Two invoice failures in billing (one bug), one connection failure in mail (another bug)."""
    return dead_jobs(
        redis,
        ("billing", import_invoice, ("INV-1",)),
        ("billing", import_invoice, ("INV-22",)),
        ("mail", flaky_sync, (NEVER,)),
    )


def listed(*args):
    result = run_script("scripts/dlq.py", "list", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [entry["job_id"] for entry in json.loads(result.stdout)]


READ_VALUE = {
    b"string": lambda redis, key: redis.get(key),
    b"hash": lambda redis, key: redis.hgetall(key),
    b"list": lambda redis, key: redis.lrange(key, 0, -1),
    b"set": lambda redis, key: redis.smembers(key),
    b"zset": lambda redis, key: redis.zrange(key, 0, -1, withscores=True),
    b"stream": lambda redis, key: redis.xrange(key),
}


def database(redis):
    """Every key with its type and logical value: to prove a command changed nothing.

    Not DUMP: a hash in `hashtable` encoding is rehashed incrementally by reads, so its serialized
    field order changes while its content does not (seen on Redis 7.0).
    """
    state = {}
    for key in sorted(redis.keys("*")):
        kind = redis.type(key)
        state[key] = (kind, READ_VALUE[kind](redis, key))
    return state


def test_filters_on_the_command_line(mixed):
    inv1, inv22, mail = (job.id for job in mixed)
    assert listed() == [mail, inv22, inv1]
    assert listed("--queue", "billing") == [inv22, inv1]
    assert listed("--func", "worker_tasks.example_tasks.flaky_sync") == [mail]
    assert listed("--exc-type", "worker_tasks.example_tasks.InvoiceRejected") == [inv22, inv1]
    assert listed("--search", "inv-22") == [inv22]
    assert listed("--since", "1h") == [mail, inv22, inv1]
    assert listed("--until", "1h") == []
    assert listed("--since", "2020-01-01T00:00:00Z", "--queue", "mail") == [mail]
    assert listed("--limit", "1", "--offset", "1") == [inv22]


def test_same_bug_same_group_different_bugs_different_groups(mixed, dlq):
    inv1, inv22, mail = (dlq.get(job.id) for job in mixed)
    assert inv1.fingerprint == inv22.fingerprint
    assert inv1.fingerprint != mail.fingerprint
    assert inv1.origin == "example_tasks.py:import_invoice"
    assert listed("--group", inv1.fingerprint) == [inv22.job_id, inv1.job_id]
    figures = json.loads(run_script("scripts/dlq.py", "stats", "--json").stdout)
    top = {group["fingerprint"]: group for group in figures["top_groups"]}
    assert top[inv1.fingerprint]["count"] == 2 and top[mail.fingerprint]["count"] == 1
    assert top[inv1.fingerprint]["first_seen"] <= top[inv1.fingerprint]["last_seen"]
    assert "customer number" in top[inv1.fingerprint]["sample_message"]


def test_stats_shows_ages_counts_and_groups(mixed):
    result = run_script("scripts/dlq.py", "stats")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Dead jobs: 3") and "oldest failure" in out and "dropped by DLQ_MAX_ENTRIES: 0" in out
    for heading in ("By queue", "By function", "By exception type", "Top failure groups"):
        assert heading in out
    figures = json.loads(run_script("scripts/dlq.py", "stats", "--json").stdout)
    assert figures["by_queue"] == {"billing": 2, "mail": 1}
    assert figures["total"] == 3 and figures["oldest_age_seconds"] >= 0


def test_show_includes_the_current_job_status(mixed, redis):
    job = mixed[0]
    assert json.loads(run_script("scripts/dlq.py", "show", "--json", job.id).stdout)["job_status"] == "failed"
    redis.delete(Job.key_for(job.id))
    shown = run_script("scripts/dlq.py", "show", job.id)
    assert shown.returncode == 0 and "gone (RQ's job hash expired or was deleted)" in shown.stdout


def test_delete_removes_the_failed_job_too_unless_kept(mixed, redis, dlq):
    inv1, inv22, _ = mixed
    result = run_script("scripts/dlq.py", "delete", inv1.id, "unknown-id")
    assert_one_line_error(result, "'unknown-id'")
    assert dlq.get(inv1.id) is None and not redis.exists(Job.key_for(inv1.id))
    assert inv1.id not in FailedJobRegistry("billing", connection=redis)
    assert run_script("scripts/dlq.py", "delete", "--keep-job", inv22.id).returncode == 0
    assert dlq.get(inv22.id) is None and inv22.id in FailedJobRegistry("billing", connection=redis)


def test_purge_asks_unless_yes_and_honours_filters(mixed, redis, dlq):
    before = database(redis)
    assert_one_line_error(run_script("scripts/dlq.py", "purge", "--queue", "billing"), "aborted")  # no tty: no
    dry = run_script("scripts/dlq.py", "purge", "--queue", "billing", "--dry-run")
    assert dry.stdout.strip() == "would delete 2 entries (the dead jobs matching the filters)"
    assert database(redis) == before
    done = run_script("scripts/dlq.py", "purge", "--queue", "billing", "--yes")
    assert done.stdout.strip() == "deleted 2 entries"
    assert [e.job_id for e in dlq.list()] == [mixed[2].id]
    assert FailedJobRegistry("billing", connection=redis).count == 0


@pytest.mark.parametrize(
    ("args", "status", "word"),
    [
        ([], 0, "OK"),
        (["--warn", "3"], 1, "WARNING"),
        (["--warn", "2", "--crit", "3"], 2, "CRITICAL"),
        (["--max-age", "0s"], 1, "WARNING"),
    ],
)
def test_check_exit_status_follows_thresholds(mixed, args, status, word):
    result = run_script("scripts/dlq.py", "check", *args)
    assert result.returncode == status, result.stderr
    assert result.stdout.startswith(f"DLQ {word}: 3 dead jobs") and len(result.stdout.splitlines()) == 1


def test_retention_cap_drops_the_oldest_and_counts_them(redis, dlq, monkeypatch):
    monkeypatch.setenv("DLQ_MAX_ENTRIES", "2")
    runtime.settings.cache_clear()
    jobs = dead_jobs(redis, *[("billing", import_invoice, (f"INV-{n}",)) for n in range(5)])
    assert [e.job_id for e in dlq.list()] == [jobs[4].id, jobs[3].id]
    check = run_script("scripts/dlq.py", "check", env={"DLQ_MAX_ENTRIES": "2"})
    assert check.stdout.rstrip().endswith("3 dropped by DLQ_MAX_ENTRIES")
    assert json.loads(run_script("scripts/dlq.py", "stats", "--json").stdout)["dropped"] == 3


def test_requeue_by_filter_in_failure_order(mixed, redis, dlq):
    result = run_script("scripts/requeue.py", "--exc-type", "worker_tasks.example_tasks.InvoiceRejected")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("requeued 2, skipped 0, errors 0")
    assert Queue("billing", connection=redis).get_job_ids() == [mixed[0].id, mixed[1].id]
    assert [e.job_id for e in dlq.list()] == [mixed[2].id]


def test_requeue_all_at_front_keeps_failure_order_ahead_of_waiting_jobs(mixed, redis):
    waiting = Queue("billing", connection=redis).enqueue(import_invoice, "waiting")
    result = run_script("scripts/requeue.py", "--all", "--front", "--retries", "1")
    assert result.returncode == 0, result.stderr
    assert Queue("billing", connection=redis).get_job_ids() == [mixed[0].id, mixed[1].id, waiting.id]
    assert Job.fetch(mixed[0].id, connection=redis).retries_left == 1


def test_requeue_dry_run_by_filter_changes_nothing(mixed, redis):
    before = database(redis)
    result = run_script("scripts/requeue.py", "--queue", "mail", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("would requeue 1, skipped 0, errors 0")
    assert database(redis) == before


def test_requeue_rebuilds_a_job_whose_rq_hash_is_gone(mixed, redis, dlq, worker):
    job = mixed[1]
    redis.delete(Job.key_for(job.id))
    result = run_script("scripts/requeue.py", job.id)
    assert result.returncode == 0, result.stderr
    assert "(rebuilt from the DLQ entry)" in result.stdout
    rebuilt = Job.fetch(job.id, connection=redis)
    assert rebuilt.func_name == "worker_tasks.example_tasks.import_invoice" and rebuilt.args == ("INV-22",)
    assert rebuilt.retries_left == 3 and rebuilt.origin == "billing"
    # It really runs again: the invoice is still rejected, so it is dead again, with a fresh entry.
    worker("billing")
    from tests.polling import wait_for

    wait_for(lambda: dlq.get(job.id), 30, "the rebuilt job to fail again")
    assert dlq.get(job.id).attempts == 1


def test_parallel_requeues_enqueue_each_job_exactly_once(redis, dlq):
    jobs = dead_jobs(redis, *[("billing", import_invoice, (f"INV-{n}",)) for n in range(50)])
    ids = [job.id for job in jobs]
    command = [sys.executable, "scripts/requeue.py", *ids]
    processes = [
        subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(8)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [process.returncode for process in processes] == [0] * 8, outputs
    requeued = [
        line.split()[1].rstrip(":")
        for out, _ in outputs
        for line in out.splitlines()
        if line.startswith("requeued ") and ":" in line.split()[1]
    ]
    assert sorted(requeued) == sorted(ids)  # each id requeued by exactly one process
    queued = Queue("billing", connection=redis).get_job_ids()
    assert sorted(queued) == sorted(ids) and len(queued) == 50
    assert dlq.count() == 0 and redis.zcard("test:dlq:claims") == 0


def test_requeue_rate_and_batch(redis, dlq):
    dead_jobs(redis, *[("billing", import_invoice, (f"INV-{n}",)) for n in range(12)])
    result = run_script("scripts/requeue.py", "--all", "--batch", "5", "--rate", "1000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("requeued 12, skipped 0, errors 0")


def malformed_entry(redis):
    redis.hset("test:dlq:entry:broken-1", mapping={"job_id": "broken-1", "exc_message": "half written"})
    redis.zadd("test:dlq:index", {"broken-1": 1_999_999_999})


@pytest.mark.parametrize(
    ("args", "fragments", "setup"),
    [
        (["scripts/dlq.py", "show", "broken-1"], ["malformed", "func_name"], malformed_entry),
        (["scripts/requeue.py", "broken-1"], ["malformed"], malformed_entry),
        (["scripts/dlq.py", "list", "--queue", "nope"], ["--queue 'nope'", "known: ", "billing"], None),
        (["scripts/dlq.py", "list", "--exc-type", "Bogus"], ["--exc-type 'Bogus'"], None),
        (["scripts/requeue.py", "--group", "ffffffffffff"], ["--group 'ffffffffffff'"], None),
        (["scripts/dlq.py", "list", "--since", "yesterday"], ["--since", "ISO time"], None),
        (["scripts/requeue.py", "--all", "--since", "2h ago"], ["--since"], None),
        (["scripts/requeue.py", "--all", "--rate", "0"], ["--rate"], None),
        (["scripts/requeue.py", "--all", "--batch", "0"], ["--batch"], None),
        (["scripts/dlq.py", "list", "--limit", "-5"], ["--limit"], None),
        (["scripts/dlq.py", "check", "--max-age", "soon"], ["--max-age"], None),
        (["scripts/requeue.py", "no-such-id"], ["'no-such-id'", "no such job"], None),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(mixed, redis, args, fragments, setup):
    if setup:
        setup(redis)
    before = database(redis)
    assert_one_line_error(run_script(*args), *fragments)
    assert database(redis) == before


@pytest.mark.parametrize(
    "args", [["scripts/requeue.py", "--all"], ["scripts/dlq.py", "stats"], ["scripts/dlq.py", "list"]]
)
def test_prefix_holding_keys_of_the_wrong_type(redis, args):
    redis.set("test:dlq:index", "not a sorted set")
    redis.set("test:dlq:names:queue", "not a sorted set either")
    assert_one_line_error(run_script(*args), "wrong type", "DLQ_PREFIX")


def test_requeue_of_an_id_that_was_just_purged(mixed, redis):
    job = mixed[0]
    assert run_script("scripts/dlq.py", "purge", "--yes").returncode == 0
    assert_one_line_error(run_script("scripts/requeue.py", job.id), job.id, "no such job")


@pytest.fixture
def password_server():
    """A server that requires a password (set after start: the embedded server's health check has none)."""
    with embedded_server() as url:
        connection = runtime.connect(url)
        connection.config_set("requirepass", "s3cret")
        yield url.replace("redis://", "redis://:s3cret@")


@pytest.mark.parametrize("args", [["scripts/dlq.py", "list"], ["scripts/requeue.py", "--all"]])
def test_wrong_password_is_one_line_and_never_printed(password_server, args):
    wrong = password_server.replace("s3cret", "hunter2")
    result = run_script(*args, env={"REDIS_URL": wrong})
    assert_one_line_error(result, "refused the credentials", ":***@")
    assert "hunter2" not in result.stdout + result.stderr
    assert run_script(*args, env={"REDIS_URL": password_server}).returncode == 0
