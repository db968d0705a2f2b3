"""Start and stop real `rq worker` processes (for `make demo` and the integration tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from failure_handlers.sentinel_url import is_sentinel_url

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the source checkout (dev and test helper)
STOP_TIMEOUT_SECONDS = 10
EXCEPTION_HANDLER = "failure_handlers.integration.record_failure"  # what the Procfile's worker runs
RQ_SETTINGS = "failure_handlers.rq_settings"  # the Procfile's `-c`: REDIS_URL, a Sentinel URL too


def rq_command() -> list[str]:
    """`rq` from this interpreter's environment."""
    return [sys.executable, "-m", "rq.cli"]


def start_worker(
    redis_url: str,
    queues: Sequence[str] = ("default",),
    env: Mapping[str, str] | None = None,
    extra_args: Sequence[str] = (),
    output: IO[bytes] | int | None = None,
    with_scheduler: bool = True,
    record_every_job: bool = True,
    through_settings: bool = True,
) -> subprocess.Popen[bytes]:
    """`rq worker QUEUES --with-scheduler --exception-handler ...record_failure` on `redis_url`, run
    from the project root, as the Procfile runs it.

    `with_scheduler=False` for a worker that must not run scheduled retries (the benchmarks);
    `record_every_job=False` for a plain RQ worker without our exception handler;
    `through_settings=True` (the default): RQ reads `redis_url` through `-c failure_handlers.rq_settings`,
    exactly as the Procfile's line does, which also turns on our log lines (LOG_LEVEL, LOG_JSON);
    `False`: `--url` instead, and the library stays silent as in any application; a `redis+sentinel://`
    URL, which RQ's `--url` cannot take, always goes through the settings.
    """
    command = [
        *rq_command(),
        "worker",
        *queues,
        *(["--with-scheduler"] if with_scheduler else []),
        *(["--exception-handler", EXCEPTION_HANDLER] if record_every_job else []),
        *(["-c", RQ_SETTINGS] if through_settings or is_sentinel_url(redis_url) else ["--url", redis_url]),
        "--path",
        str(PROJECT_ROOT),
        *extra_args,
    ]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {}), "REDIS_URL": redis_url},
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )


def kill_at_once(pid: int) -> None:
    """SIGKILL `pid` and its descendants, `pid` first: a lost machine (worker, work-horse, scheduler).

    Its children are read before (once it is gone they are init's). The worker goes first so that it
    cannot see its work-horse die and do RQ's bookkeeping: killed work-horse first, a worker on a loaded
    machine once had the time to mark the job failed and take it out of the StartedJobRegistry before its
    own SIGKILL, which is not what a lost machine leaves behind.
    """
    children = descendants(pid)
    for target in [pid, *children]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:  # ended meanwhile
            pass


def descendants(pid: int) -> list[int]:
    """Child processes of `pid`, recursively (read from /proc; Linux only)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_worker(process: subprocess.Popen[bytes]) -> int:
    """Warm shutdown (SIGTERM), then SIGKILL if it does not stop in time; returns the exit code.

    Its own processes go too: a worker SIGKILLed here leaves its scheduler process (RQ 3.0 runs the
    scheduler in a child) and its work-horse running, and a scheduler left behind keeps writing its
    heartbeat to the server, into whatever the next test reads (seen under load: a "changes nothing"
    check that found `rq:scheduler:<id>` changed).
    """
    if process.poll() is not None:
        return process.wait()
    children = _identified(descendants(process.pid))  # read now: once the worker is gone they are init's
    process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        children |= _identified(descendants(process.pid))
        process.kill()
        code = process.wait()
    for pid, started in children.items():
        if _start_time(pid) == started:  # still that process, not a new one that got its pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # it ended with the worker, as it should
                pass
    return code


def _identified(pids: list[int]) -> dict[int, int]:
    """pid -> its start time (clock ticks after boot), for the pids that still run."""
    found = {pid: _start_time(pid) for pid in pids}
    return {pid: started for pid, started in found.items() if started is not None}


def _start_time(pid: int) -> int | None:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None
