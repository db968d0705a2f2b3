"""Warm, in a forking worker's parent, what every work-horse's failure would otherwise build again.

RQ's forking `Worker` runs each job in a fresh `fork()` of the worker, and the worker itself never
runs the failure handler: whatever the handler's first call fills in (a cache, a file read) is
filled in every work-horse, for every failed job, and dies with it. Two such things are the same
for every job, so they are filled in once in the parent, just before its first fork, and every
work-horse inherits them:
- the source lines of RQ's own frames, which open every job's traceback (`Worker.perform_job`,
  `Job.perform`, `Job._execute`): `format_traceback` reads them through `linecache`, a whole file
  each (`tokenize.open`, `readlines`), and RQ's own traceback after it finds them there;
- the ABC cache of `isinstance(None, collections.abc.Sequence)`, which `traceback`'s
  `format_exception_only` asks about an exception's `__notes__` (None nearly always): uncached, the
  answer walks every class registered with `Sequence`.
The task's own file differs from job to job and is not read here.

`install()` registers the warm-up as an `os.register_at_fork(before=...)` hook: nothing is done
in a process that never forks (an application importing the integration, a `SimpleWorker`). It
reads files and nothing else: no Redis, no log line, and it never raises (a failed warm-up leaves
the work-horse to read the lines itself, as without it). The parent keeps the lines of those few
RQ files (some 150 kB) for its lifetime. Measured in benchmarks/NOTES.md ("Forking worker: warm
the work-horse's first failure in the parent").
"""

from __future__ import annotations

import collections.abc
import linecache
import os
from collections.abc import Callable

_installed: list[bool] = []


def install() -> None:
    """Warm before every `fork()` of this process (idempotent: registered once per process)."""
    if not _installed:
        os.register_at_fork(before=warm_up)
        _installed.append(True)


def warm_up() -> None:
    """Fill this process' caches that every work-horse's failure reads (see module docstring).

    After the first call it costs a few dictionary look-ups: the lines stay in `linecache`.
    """
    try:
        for filename in rq_traceback_files():
            linecache.getlines(filename)
        isinstance(None, collections.abc.Sequence)
    except Exception:  # noqa: BLE001, S110 - an optimisation only: a work-horse then reads the lines itself
        pass


def rq_traceback_files() -> list[str]:
    """The source files of the RQ frames that open every job's traceback in a work-horse."""
    from rq.job import Job
    from rq.worker import Worker

    methods: list[Callable[..., object]] = [Worker.perform_job, Job.perform, Job._execute]
    files = {method.__code__.co_filename for method in methods if hasattr(method, "__code__")}
    return sorted(files)
