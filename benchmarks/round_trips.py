"""Item 2: how many Redis round trips (and server commands) the failure handler itself makes.

The Prometheus counters (`failure_handlers/metrics/counters.py`) ride in these same round trips:
inside the `add` script on a final failure, in the `count` script that saves a retried job's meta; the rows
below count them.

The handler is called exactly as RQ calls it, `on_failure(job, connection, *exc_info)`, on a job
fetched from the server through a connection that counts its writes: redis-py sends one packed
write per round trip (a whole pipeline is one), so writes = round trips. The server's own count
(INFO commandstats delta, which includes the commands a Lua script runs) says what they carry.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from redis import Redis
from rq import Retry
from rq.job import Job

from benchmarks import tasks
from benchmarks.figures import Figure
from benchmarks.server import BenchServer
from benchmarks.usage import lua_inner_commands_counted
from failure_handlers.dev.round_trips import RoundTrips, counting_client
from failure_handlers.handler import on_failure
from worker_tasks import enqueue

ROUND_TRIP_TARGET = 1


@dataclass(frozen=True)
class HandlerCall:
    round_trips: int
    commands: dict[str, int]  # server command -> calls, for this one handler call

    def describe(self) -> str:
        return ", ".join(f"{name} {count}" for name, count in sorted(self.commands.items(), key=lambda kv: -kv[1]))


def command_calls(connection: Redis) -> dict[str, int]:
    stats = connection.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}


def measure_call(server: BenchServer, retry: Retry | None, retries_left: int | None) -> HandlerCall:
    """One handler call on a fresh job whose RQ state says `retries_left` (None: enqueued without Retry)."""
    observer = server.connect()
    client = counting_client(server.url)
    job_id = enqueue(tasks.always_fails, 7, connection=client, retry=retry).id
    job = Job.fetch(job_id, connection=client)
    job.worker_name = "bench-worker"
    job.retries_left = retries_left
    try:
        tasks.always_fails(7)
    except tasks.BenchmarkFailure:
        exc_info = sys.exc_info()
    before_commands = command_calls(observer)
    before_writes = RoundTrips.count
    on_failure(job, client, *exc_info)
    writes = RoundTrips.count - before_writes
    after = command_calls(observer)
    commands = {name: after[name] - before_commands.get(name, 0) for name in after}
    commands["info"] = commands.get("info", 0) - 1  # the observer's own INFO after the call
    client.close()
    return HandlerCall(writes, {name: count for name, count in commands.items() if count > 0})


def figures(server: BenchServer) -> list[Figure]:
    server.fresh()
    cold = None
    if server.private:  # SCRIPT FLUSH is server-wide: never on a shared BENCH_REDIS_URL server
        server.connect().script_flush()
        cold = measure_call(server, None, None)  # the first call after the server started: scripts not loaded
    final = measure_call(server, None, None)
    measure_call(server, Retry(max=3, interval=0), 2)  # loads the `count` script, as a long-running worker has
    retried = measure_call(server, Retry(max=3, interval=0), 2)
    exhausted = measure_call(server, Retry(max=3, interval=0), 0)
    section = "2. Failure path"
    counted = lua_inner_commands_counted(server.connect())
    return [
        Figure(
            section,
            "INFO commandstats counts the commands a Lua script runs (checked: one EVAL of a SET and two GETs)",
            f"{'yes' if counted else 'NO: the command counts below miss what scripts run'} ({server.version()})",
        ),
        Figure(
            section,
            "handler round trips, final failure without retries (counted client writes)",
            f"{final.round_trips} ({final.describe()})",
            target=f"<= {ROUND_TRIP_TARGET}",
            met=final.round_trips <= ROUND_TRIP_TARGET,
            judged=True,
        ),
        Figure(
            section,
            "handler round trips, final failure after 3 retries",
            f"{exhausted.round_trips}",
            target=f"<= {ROUND_TRIP_TARGET}",
            met=exhausted.round_trips <= ROUND_TRIP_TARGET,
            judged=True,
        ),
        Figure(
            section,
            "handler round trips, a failure that will be retried",
            f"{retried.round_trips} ({retried.describe()})",
            target=f"<= {ROUND_TRIP_TARGET}",
            met=retried.round_trips <= ROUND_TRIP_TARGET,
            judged=True,
        ),
        Figure(
            section,
            "handler round trips, first final failure after the server started (script not cached)",
            f"{cold.round_trips} ({cold.describe()})"
            if cold
            else "not measured on a shared server (needs SCRIPT FLUSH)",
        ),
        Figure(
            section,
            "server commands per final failure (INFO commandstats, incl. those the Lua script runs)",
            f"{sum(final.commands.values())}",
        ),
        Figure(
            section,
            "server commands per retried failure (the `count` script: meta HSET + counters, incl. its commands)",
            f"{sum(retried.commands.values())}",
        ),
    ]
