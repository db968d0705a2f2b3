"""The forking worker's warm-up: RQ's traceback sources read once in the parent, before each fork,
inherited by the work-horse; never raising, writing nothing (`recording/fork_warm_up.py`)."""

from __future__ import annotations

import _abc
import collections.abc
import linecache
import os
import traceback
from pathlib import Path

import pytest
import rq
from rq import Queue, SimpleWorker

from failure_handlers.recording import fork_warm_up


def boom(n):
    raise ConnectionError(f"down {n}")


def rq_frames_of_a_failed_job(connection) -> set[str]:
    """The files of RQ's own frames in the traceback a failed job's handlers receive."""
    seen: list[str] = []

    def frames(job, exc_type, exc_value, tb):
        seen.extend(frame.f_code.co_filename for frame, _ in traceback.walk_tb(tb))
        return True

    queue = Queue("q", connection=connection)
    queue.enqueue(boom, 1)
    SimpleWorker([queue], connection=connection, exception_handlers=[frames]).work(burst=True)
    rq_dir = str(Path(rq.__file__).parent)
    return {filename for filename in seen if filename.startswith(rq_dir)}


def test_the_files_read_are_rqs_frames_in_a_failed_jobs_traceback(fake_redis):
    rq_frames = rq_frames_of_a_failed_job(fake_redis)
    assert rq_frames  # perform_job, Job.perform, Job._execute
    assert rq_frames == set(fork_warm_up.rq_traceback_files())


def test_warm_up_fills_linecache_with_their_lines():
    files = fork_warm_up.rq_traceback_files()
    for filename in files:
        linecache.cache.pop(filename, None)
    fork_warm_up.warm_up()
    for filename in files:
        assert linecache.getlines(filename) == Path(filename).read_text().splitlines(keepends=True)
        assert filename in linecache.cache


def test_warm_up_caches_the_sequence_check_of_notes():
    """`traceback.format_exception_only` asks `isinstance(exc.__notes__, Sequence)`: None, nearly always."""
    _abc._reset_caches(collections.abc.Sequence)  # noqa: SLF001
    fork_warm_up.warm_up()
    _registry, _cache, negative_cache, _version = _abc._get_dump(collections.abc.Sequence)  # noqa: SLF001
    assert type(None) in {ref() for ref in negative_cache}


def test_warm_up_never_raises(monkeypatch, capfd):
    def broken() -> list[str]:
        raise RuntimeError("no rq here")

    monkeypatch.setattr(fork_warm_up, "rq_traceback_files", broken)
    fork_warm_up.warm_up()
    assert capfd.readouterr() == ("", "")


def test_install_registers_one_before_fork_hook(monkeypatch):
    registered: list[dict] = []
    monkeypatch.setattr(fork_warm_up.os, "register_at_fork", lambda **hooks: registered.append(hooks))
    monkeypatch.setattr(fork_warm_up, "_installed", [])
    fork_warm_up.install()
    fork_warm_up.install()
    assert registered == [{"before": fork_warm_up.warm_up}]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_inherits_the_lines_without_reading_them(capfd):
    """The hook runs in the parent before `fork()`: the child finds the lines in its linecache."""
    fork_warm_up.install()  # the integration's import did it already in a worker; idempotent
    files = fork_warm_up.rq_traceback_files()
    for filename in files:
        linecache.cache.pop(filename, None)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if all(filename in linecache.cache for filename in files) else 2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert all(filename in linecache.cache for filename in files)  # and the parent keeps them
    assert capfd.readouterr() == ("", "")  # nothing printed, no log line


def test_the_integration_and_the_pausable_worker_install_it():
    import failure_handlers.integration.worker  # noqa: F401
    import failure_handlers.queues.worker  # noqa: F401

    assert fork_warm_up._installed == [True]  # noqa: SLF001
