"""The Django app with the real Django and django-rq: `manage.py rqworker` processes, `transaction.atomic()`
in a Django process, and `manage.py rq_dlq`, on a real server, in the project of tests/django_project/
whose RQ settings and commands are the README's Django block, run as written."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path

import pytest
from rq import Worker

from failure_handlers.dev.worker_process import PROJECT_ROOT, stop_worker
from tests.conftest import TEST_ENV
from tests.integration.conftest import assert_one_line_error
from tests.polling import wait_for
from tests.readme_blocks import section_blocks

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(find_spec("django_rq") is None, reason="the django extra is not installed"),
]

DJANGO_PROJECT = PROJECT_ROOT / "tests" / "django_project"
# The README's two `python manage.py ...` lines, without their comments
RQWORKER, RQ_DLQ_LIST = [line.split("  #")[0] for line in section_blocks("Django")[1].splitlines() if line]


@pytest.fixture
def django_env(redis_url: str) -> dict[str, str]:
    """A Django process's environment: django-rq's queue on the test server, REDIS_URL unset."""
    env = {name: value for name, value in os.environ.items() if name != "REDIS_URL"}
    return {**env, **TEST_ENV, "RETRY_MAX": "2", "DJANGO_RQ_URL": redis_url}


def argv(line: str) -> list[str]:
    """A README line (`python manage.py ...`) with this interpreter as `python`."""
    words = shlex.split(line)
    assert words[:2] == ["python", "manage.py"], line
    return [sys.executable, *words[1:]]


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=DJANGO_PROJECT, env=env, capture_output=True, text=True, timeout=60
    )


def in_django(env: dict[str, str], code: str) -> list[str]:
    """Run `code` in a Django process (`manage.py shell -c`); the lines it printed after `>`."""
    result = manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return [line[1:].strip() for line in result.stdout.splitlines() if line.startswith(">")]


@pytest.fixture
def rqworker(redis, django_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], Path]]:
    """Start the README's `python manage.py rqworker default --with-scheduler`; returns its log file."""
    started: list[subprocess.Popen[bytes]] = []
    log_path = tmp_path / "rqworker.log"

    def start() -> Path:
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                argv(RQWORKER), cwd=DJANGO_PROJECT, env=django_env, stdout=log, stderr=subprocess.STDOUT
            )
        started.append(process)
        wait_for(lambda: process.poll() is not None or Worker.all(connection=redis), 30, "rqworker to register")
        assert process.poll() is None, log_path.read_text()
        return log_path

    yield start
    for process in started:
        stop_worker(process)
    if log_path.exists():
        sys.stderr.write("--- rqworker (last lines) ---\n" + "".join(log_path.read_text().splitlines(True)[-15:]))


def test_a_failing_task_reaches_the_dlq_with_its_history_and_manage_py_rq_dlq_shows_it(
    redis, redis_url, dlq, django_env, rqworker
):
    log = rqworker()
    enqueue_charge = "import django_rq; from shop.tasks import charge; print('>', django_rq.enqueue(charge, 'o-1').id)"
    (job_id,) = in_django(django_env, enqueue_charge)

    entry = entry_before = wait_for(lambda: dlq.get(job_id), 30, "the job to reach the DLQ")
    assert (entry.func_name, entry.exc_type, entry.attempts, entry.reason) == (
        "shop.tasks.charge",
        "ConnectionError",
        3,  # RETRY_MAX=2 from our settings: django-rq's queue class is ours
        "retries exhausted",
    )
    assert [failure["attempt"] for failure in entry.as_json()["failures"]] == [1, 2, 3]
    worker_log = wait_for(lambda: "moved to DLQ" in log.read_text() and log.read_text(), 10, "the worker's line")
    assert f"Job {job_id} failed (attempt 1/3), will retry" in worker_log  # our lines, in rqworker's log

    ours = manage(django_env, *argv(RQ_DLQ_LIST)[2:])  # the README's line, REDIS_URL unset
    assert ours.returncode == 0, ours.stderr
    assert "REDIS_URL" not in ours.stderr
    plain = subprocess.run(
        [sys.executable, "-m", "failure_handlers.cli", "list", "--json"],
        cwd=PROJECT_ROOT,
        env={**django_env, "REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert plain.returncode == 0, plain.stderr
    assert json.loads(ours.stdout) == json.loads(plain.stdout)
    assert [row["job_id"] for row in json.loads(ours.stdout)] == [job_id]

    requeued = manage(django_env, "rq_dlq", "requeue", job_id)  # a verb that writes, on the same Redis
    assert requeued.returncode == 0 and f"requeued {job_id}" in requeued.stdout, requeued.stdout + requeued.stderr

    def dead_again():
        entry = dlq.get(job_id)
        return entry if entry and entry.failed_at != entry_before.failed_at else None

    again = wait_for(dead_again, 30, "the requeued job to be dead-lettered again")
    assert again.attempts == 3  # a fresh retry budget, run by rqworker again


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs_and_a_committed_one_does(redis, django_env, rqworker):
    nowhere = {**django_env, "REDIS_URL": "redis://127.0.0.1:1/0"}  # worker_tasks.enqueue must not use it
    printed = in_django(
        nowhere,
        """
from django.db import transaction
import django_rq
from worker_tasks import enqueue
from shop.tasks import mark
with transaction.atomic():
    django_rq.enqueue(mark, "rolled back, django_rq.enqueue")
    enqueue(mark, "rolled back, worker_tasks.enqueue")
    transaction.set_rollback(True)
with transaction.atomic():
    django_rq.enqueue(mark, "committed, django_rq.enqueue")
    print(">", enqueue(mark, "committed, worker_tasks.enqueue"))  # deferred to the commit: None
    enqueue(mark, "committed once", dedup_key="once")
    enqueue(mark, "committed once", dedup_key="once")  # the key is taken at the commit: deduplicated, no error
print(">", len(django_rq.get_connection().keys("rq:job:*")))
""",
    )
    assert printed == ["None", "3"]  # worker_tasks.enqueue deferred too; 3 jobs created at the commit
    rqworker()
    ran = wait_for(lambda: redis.scard("shop:ran") == 3 and redis.smembers("shop:ran"), 30, "the committed jobs")
    assert ran == {b"committed, django_rq.enqueue", b"committed, worker_tasks.enqueue", b"committed once"}
    assert redis.llen("rq:queue:default") == 0 and len(redis.keys("rq:job:*")) == 3  # nothing else was queued


def test_an_unknown_django_rq_queue_is_one_line_and_exit_2(redis, django_env):
    result = manage(django_env, "rq_dlq", "--queue", "billing", "list")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "error: no django-rq queue named 'billing' in RQ_QUEUES (there: default)\n"


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_django_rq_server_is_one_line_without_its_password(redis, django_env):
    env = {**django_env, "DJANGO_RQ_URL": f"redis://:hunter2@127.0.0.1:{closed_port()}/0"}
    result = manage(env, "rq_dlq", "stats")
    assert_one_line_error(result, "cannot reach Redis at redis://:***@127.0.0.1")
    assert "hunter2" not in result.stdout + result.stderr
