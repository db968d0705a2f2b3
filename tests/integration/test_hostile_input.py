"""Hostile and bad input, one table: jobs that fail in nasty ways, and tools given nonsense.

A hostile job: the real worker keeps running, the job still gets a DLQ entry, and the entry stays
under the hard size cap with every cut marked. A nonsense command: one `error: ...` line, exit 2,
and the database unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from rq import Callback, Queue, SimpleWorker

from failure_handlers.dlq.entry import MAX_ENTRY_BYTES, SHRUNK_MARK, DeadLetterEntry
from failure_handlers.recording.failure_record import TRUNCATION_MARK
from tests import hostile_tasks
from tests.integration.conftest import assert_one_line_error, run_script
from tests.integration.test_operator_tooling import database
from tests.polling import wait_for
from worker_tasks import enqueue, import_invoice

CUT = TRUNCATION_MARK.split("{")[0]  # "…[truncated "


@dataclass(frozen=True)
class Job:
    """Enqueue `func(*args, **kwargs)`; `expect(entry)` checks its DLQ entry."""

    func: Any
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    expect: Callable[[DeadLetterEntry], bool] = lambda entry: True
    rq_options: dict = field(default_factory=dict)  # when given: plain `Queue.enqueue` with these


@dataclass(frozen=True)
class Command:
    """Run a script; it must print one error line containing `fragments`, exit 2, change nothing."""

    args: tuple[str, ...]
    fragments: tuple[str, ...]
    env: dict = field(default_factory=dict)
    setup: Callable[[Any], None] = lambda redis: None


def wrong_type_index(redis) -> None:
    redis.set("test:dlq:index", "not a sorted set")


def malformed_entry(redis) -> None:
    redis.hset("test:dlq:entry:broken-1", mapping={"job_id": "broken-1", "exc_message": "half written"})
    redis.zadd("test:dlq:index", {"broken-1": 1_999_999_999})


def purged(redis) -> None:
    job = enqueue(import_invoice, "INV-9", connection=redis, job_id="purged-job")
    SimpleWorker([Queue(connection=redis)], connection=redis).work(burst=True)
    assert job.id and run_script("scripts/dlq.py", "purge", "--yes").returncode == 0


SLOW_CALLBACK = Callback(hostile_tasks.slow_on_failure, timeout=1)

CASES = {
    # -- jobs ----------------------------------------------------------------------------------------
    "undecodable-message": Job(hostile_tasks.raise_undecodable, expect=lambda e: "\\udc" in e.exc_message),
    "bytes-message": Job(hostile_tasks.raise_bytes_message, expect=lambda e: "\\xff\\xfe" in e.exc_message),
    "10MB-message": Job(hostile_tasks.raise_huge_message, expect=lambda e: CUT in e.exc_message),
    "10MB-traceback": Job(hostile_tasks.raise_huge_traceback, expect=lambda e: CUT in e.traceback),
    "deep-recursion": Job(hostile_tasks.recurse, expect=lambda e: e.exc_type == "RecursionError"),
    "str-raises": Job(hostile_tasks.raise_unprintable, expect=lambda e: "str() of the exception" in e.exc_message),
    "args-not-json": Job(hostile_tasks.fail_with, ({1, 2}, b"\x00\xff", 3.5j), expect=lambda e: "{1, 2}" in e.args),
    "repr-raises": Job(hostile_tasks.fail_with, (hostile_tasks.BadRepr(),),
                       expect=lambda e: "unrepresentable" in e.args),
    "10MB-argument": Job(hostile_tasks.fail_with, ("y" * hostile_tasks.TEN_MB,), expect=lambda e: CUT in e.args),
    "secret-kwargs": Job(hostile_tasks.fail_with, (), {"password": "hunter2", "api_key": "k-123", "user": "ann"},
                         expect=lambda e: "hunter2" not in e.kwargs and "k-123" not in e.kwargs and "ann" in e.kwargs),
    "module-deleted": Job("worker_tasks.removed_module.task", expect=lambda e: "task" in e.exc_message),
    "function-renamed": Job("worker_tasks.example_tasks.renamed", expect=lambda e: "renamed" in e.exc_message),
    # The job's own callback times out (RQ then reports the timeout as the job's error): the worker's
    # exception handler (failure_handlers.integration) still records the failure.
    "callback-timeout": Job(hostile_tasks.fail_with, rq_options={"on_failure": SLOW_CALLBACK},
                            expect=lambda e: e.exc_type == "rq.timeouts.JobTimeoutException"
                            and e.reason == "no retries configured"),
    # -- commands ------------------------------------------------------------------------------------
    "malformed-entry-show": Command(("scripts/dlq.py", "show", "broken-1"), ("malformed", "func_name"),
                                    setup=malformed_entry),
    "malformed-entry-requeue": Command(("scripts/requeue.py", "broken-1"), ("malformed",), setup=malformed_entry),
    "wrong-key-type-reconcile": Command(("scripts/dlq.py", "reconcile"), ("wrong type", "DLQ_PREFIX"),
                                        setup=wrong_type_index),
    "wrong-key-type-requeue": Command(("scripts/requeue.py", "--all"), ("wrong type",), setup=wrong_type_index),
    "env-retry-max": Command(("scripts/dlq.py", "list"), ("RETRY_MAX",), env={"RETRY_MAX": "-1"}),
    "env-intervals": Command(("scripts/requeue.py", "--all"), ("RETRY_INTERVALS",), env={"RETRY_INTERVALS": "abc"}),
    "env-serializer": Command(("scripts/requeue.py", "--all"), ("RQ_SERIALIZER",), env={"RQ_SERIALIZER": "no.Ser"}),
    "env-prefix": Command(("scripts/dlq.py", "stats"), ("DLQ_PREFIX",), env={"DLQ_PREFIX": "rq dlq"}),
    "env-url": Command(("scripts/dlq.py", "list"), ("REDIS_URL",), env={"REDIS_URL": "http://u:pw@host/0"}),
    "id-with-spaces": Command(("scripts/requeue.py", "a job id"), ("'a job id'",)),
    "id-with-quotes": Command(("scripts/dlq.py", "show", "it's \"quoted\""), ("quoted",)),
    "id-unicode": Command(("scripts/requeue.py", "jöb-☃"), ("jöb-☃",)),
    "id-path-traversal": Command(("scripts/requeue.py", "../../etc/passwd"), ("../../etc/passwd",)),
    "id-path-traversal-delete": Command(("scripts/dlq.py", "delete", "../x"), ("'../x'",)),
    "requeue-just-purged": Command(("scripts/requeue.py", "purged-job"), ("purged-job", "no such job"), setup=purged),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_hostile_and_bad_input(case, redis, dlq, worker):
    if isinstance(case, Job):
        process = worker()
        if case.rq_options:
            job = Queue(connection=redis).enqueue(case.func, *case.args, **case.kwargs, **case.rq_options)
        else:
            job = enqueue(case.func, *case.args, connection=redis, retry=None, **case.kwargs)
        wait_for(lambda: job.get_status(refresh=True) == "failed", 30, "the hostile job to fail")
        listed = run_script("scripts/dlq.py", "list", "--json")  # as an operator would look (reconciles first)
        assert listed.returncode == 0, listed.stderr
        entry = dlq.get(job.id)
        assert entry is not None, "a hostile job must still reach the DLQ"
        assert entry.size() <= MAX_ENTRY_BYTES and redis.memory_usage(dlq.keys.entry(job.id)) <= 64 * 1024
        assert case.expect(entry), entry
        assert SHRUNK_MARK not in entry.exc_message
        assert process.poll() is None, "the worker must keep running"
        return
    case.setup(redis)
    before = database(redis)
    assert_one_line_error(run_script(*case.args, env=case.env), *case.fragments)
    assert database(redis) == before
