"""Item 7: how far the DLQ write path is from what the server itself can do, on the same server.

Compared pairwise, one client each: a DLQ `add` (one EVALSHA round trip) vs a bare SET round trip;
`add_many` (1,000 scripts per pipelined round trip) vs pipelined HSETs of an entry-sized hash.
The server's own time per add comes from INFO commandstats (EVALSHA's usec: the script's execution,
judged against issue 20's 40 µs), and its whole process' CPU per add and per SET from INFO cpu.
`redis-benchmark` (when installed, TCP URLs only) shows the server's ceiling with 50 parallel clients.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from redis import Redis

from benchmarks.figures import Figure, judge_range, median, microseconds, per_second, runs
from benchmarks.server import BenchServer
from benchmarks.synthetic import make_entries
from benchmarks.usage import server_sample
from failure_handlers.dlq.store import DeadLetterQueue

PREFIX = "bench:limit:"
TTL = 7 * 86400
PIPELINE_BATCH = 1_000
ADD_SERVER_USEC_TARGET = 40.0  # issue 20: the server's CPU per `add` (EVALSHA's usec per call), today 127 µs


def _evalsha_stats(connection: Redis) -> tuple[int, float]:
    """(calls, microseconds) the server has spent in EVALSHA so far (a delta needs no CONFIG RESETSTAT)."""
    stats = connection.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), float(stats.get("usec", 0.0))


def _rate(count: int, action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return count / (time.perf_counter() - started)


@dataclass(frozen=True)
class Round:
    set_rate: float
    add_rate: float
    server_usec_per_add: float  # EVALSHA's own time (INFO commandstats usec / calls)
    server_cpu_per_add: float  # seconds, the whole server process (INFO cpu delta / adds): reading, replying too
    server_cpu_per_set: float  # the same for the bare SETs
    hset_rate: float
    add_many_rate: float


def one_round(server: BenchServer, operations: int) -> Round:
    """Each pair measured back to back on an empty database."""
    connection = server.fresh()
    dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=operations * 10)
    entries = list(make_entries(operations))
    mapping = entries[0].to_hash()

    def sets() -> None:
        for n in range(operations):
            connection.set(f"bench:limit:raw:{n}", "x")

    def adds() -> None:
        for entry in entries:
            dlq.add(entry)

    def hsets() -> None:
        for start in range(0, operations, PIPELINE_BATCH):
            with connection.pipeline(transaction=False) as pipe:
                for n in range(start, min(start + PIPELINE_BATCH, operations)):
                    pipe.hset(f"bench:limit:hash:{n}", mapping=mapping)
                pipe.execute()

    dlq.add(entries[0])  # loads the script
    before_sets = server_sample(connection)
    set_rate = _rate(operations, sets)
    set_cpu = (server_sample(connection) - before_sets).cpu_seconds / operations
    calls_before, usec_before = _evalsha_stats(connection)
    before_adds = server_sample(connection)
    add_rate = _rate(operations, adds)
    add_cpu = (server_sample(connection) - before_adds).cpu_seconds / operations
    calls_after, usec_after = _evalsha_stats(connection)
    usec = (usec_after - usec_before) / max(calls_after - calls_before, 1)
    connection.flushdb()
    hset_rate = _rate(operations, hsets)
    connection.flushdb()
    add_many_rate = _rate(operations, lambda: dlq.add_many(entries, batch=PIPELINE_BATCH))
    return Round(set_rate, add_rate, usec, add_cpu, set_cpu, hset_rate, add_many_rate)


def dlq_vs_raw(server: BenchServer, operations: int, repeat: int) -> list[Figure]:
    section = "7. The server's limit"
    rounds = [one_round(server, operations) for _ in range(repeat)]
    set_rates = [r.set_rate for r in rounds]
    add_rates = [r.add_rate for r in rounds]
    hset_rates = [r.hset_rate for r in rounds]
    add_many_rates = [r.add_many_rate for r in rounds]
    server_usec = [r.server_usec_per_add for r in rounds]
    return [
        Figure(
            section,
            f"one client, sequential: DLQ `add` (1 EVALSHA round trip) vs bare SET round trip, {operations:,} ops",
            runs(add_rates, per_second),
            runs(set_rates, per_second),
            median(add_rates) / median(set_rates),
        ),
        Figure(
            section,
            f"one client, pipelined {PIPELINE_BATCH:,}/round trip: DLQ `add_many` vs HSET of an entry-sized hash",
            runs(add_many_rates, per_second),
            runs(hset_rates, per_second),
            median(add_many_rates) / median(hset_rates),
        ),
        Figure(
            section,
            "server CPU per DLQ add (INFO commandstats: EVALSHA usec / calls during the sequential adds)",
            f"{runs([u * 1e-6 for u in server_usec], microseconds)} (at most "
            f"{1e6 / max(median(server_usec), 1):,.0f} adds/s per server core)",
            target=f"<= {ADD_SERVER_USEC_TARGET:.0f} µs",
            met=judge_range(min(server_usec), max(server_usec), ADD_SERVER_USEC_TARGET, at_least=False),
            spread=f"runs {min(server_usec):.0f}–{max(server_usec):.0f} µs",
            judged=True,
        ),
        Figure(
            section,
            "server process CPU per sequential op (INFO cpu delta / ops: the command plus reading and replying): "
            "DLQ `add` vs bare SET",
            runs([r.server_cpu_per_add for r in rounds], microseconds),
            runs([r.server_cpu_per_set for r in rounds], microseconds),
            median([r.server_cpu_per_set for r in rounds]) / median([r.server_cpu_per_add for r in rounds]),
        ),
    ]


def redis_benchmark(server: BenchServer, requests: int) -> list[Figure]:
    """`redis-benchmark -t set,hset,zadd` (50 clients), without and with -P 16; nothing if not installed."""
    binary = shutil.which("redis-benchmark")
    address = server.address
    if binary is None or address is None:
        reason = "redis-benchmark is not installed" if binary is None else "the server is not on TCP"
        return [Figure("7. The server's limit", "`redis-benchmark`", f"not run: {reason}")]
    host, port = address
    command = [binary, "-h", host, "-p", str(port), "--dbnum", str(server.database)]  # its keys stay in our db
    command += ["-n", str(requests), "-t", "set,hset,zadd", "--csv"]
    password = urlsplit(server.url).password
    env = {"REDISCLI_AUTH": unquote(password)} if password else None  # never on the command line
    rows = []
    for pipeline in (1, 16):
        result = subprocess.run(
            [*command, "-P", str(pipeline)], capture_output=True, text=True, timeout=120, env=env, check=True
        )
        for record in csv.DictReader(io.StringIO(result.stdout)):
            test = record["test"].split()[0].lower()
            rows.append(
                Figure(
                    "7. The server's limit",
                    f"`redis-benchmark -t {test} -c 50 -P {pipeline}`, {requests:,} requests",
                    f"{float(record['rps']):,.0f} ops/s",
                )
            )
    return rows


def figures(server: BenchServer, operations: int, repeat: int) -> list[Figure]:
    rows = dlq_vs_raw(server, operations, repeat)
    server.fresh()
    return rows + redis_benchmark(server, operations * 5)
