"""CPU time and server commands: what a run cost the worker processes and the server.

- A worker process' CPU (user + system) comes from `os.wait4` on it: the kernel's accounting of that
  process and of every descendant it waited for, so a forking `Worker`'s work-horses (RQ waits for
  each with `os.wait4`) are included. In-process runs use `getrusage(RUSAGE_SELF)`.
- The server's CPU is the delta of `INFO cpu` `used_cpu_user + used_cpu_sys` (the whole server
  process, all its threads): meaningful on the benchmark's private server only, where nothing else
  runs (on a shared `BENCH_REDIS_URL` server it includes other clients' work).
- Server commands are the delta of `INFO commandstats` calls, without the `INFO` calls that read them.
  Commands a Lua script runs are counted there too (`lua_inner_commands_counted` checks it on the
  server in use; valkey 9.1 and Redis 7 do).
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
from dataclasses import dataclass

from redis import Redis

POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ServerSample:
    cpu_seconds: float  # used_cpu_user + used_cpu_sys since the server started
    commands: int  # commands executed since the server started (or CONFIG RESETSTAT), INFO excluded

    def __sub__(self, earlier: ServerSample) -> ServerSample:
        return ServerSample(self.cpu_seconds - earlier.cpu_seconds, self.commands - earlier.commands)


def server_sample(connection: Redis, leave_out: tuple[str, ...] = ("info",)) -> ServerSample:
    """The server's CPU and commands so far; `leave_out`: commands not counted (the benchmark's own)."""
    cpu = connection.info("cpu")
    stats = connection.info("commandstats")
    skipped = {f"cmdstat_{name}" for name in leave_out}
    commands = sum(
        int(value["calls"]) for name, value in stats.items() if name.startswith("cmdstat_") and name not in skipped
    )
    return ServerSample(float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), commands)


def command_calls(connection: Redis) -> dict[str, int]:
    stats = connection.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def lua_inner_commands_counted(connection: Redis) -> bool:
    """Whether INFO commandstats counts the commands a Lua script runs (one EVAL of a SET and two GETs)."""
    before = command_calls(connection)
    key = "bench:usage:lua-check"
    connection.eval("redis.call('SET', KEYS[1], '1'); redis.call('GET', KEYS[1]); redis.call('GET', KEYS[1])", 1, key)
    after = command_calls(connection)
    connection.delete(key)
    return after.get("set", 0) - before.get("set", 0) >= 1 and after.get("get", 0) - before.get("get", 0) >= 2


def own_cpu_seconds() -> float:
    """CPU (user + system) of this process so far, all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wait_with_cpu(processes: list[subprocess.Popen[bytes]], timeout: float) -> list[tuple[int, float]]:
    """Wait for every process; (exit code, CPU seconds of it and its waited-for descendants) each.

    Reaps each with `os.wait4` (Popen's `returncode` is set from it). On timeout the processes still
    running are killed and `TimeoutError` is raised.
    """
    results: dict[int, tuple[int, float]] = {}
    deadline = time.monotonic() + timeout
    while len(results) < len(processes):
        for process in processes:
            if process.pid in results:
                continue
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid == 0:
                continue
            code = os.waitstatus_to_exitcode(status)
            process.returncode = code
            results[process.pid] = (code, usage.ru_utime + usage.ru_stime)
        if len(results) == len(processes):
            break
        if time.monotonic() > deadline:
            for process in processes:
                if process.pid not in results:
                    process.kill()
                    process.wait()
            raise TimeoutError(f"{len(processes) - len(results)} worker(s) still running after {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return [results[process.pid] for process in processes]
