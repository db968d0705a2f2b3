"""`python -m benchmarks.server_cost`: what one dead-lettering costs the server and the worker, in CPU
time and server commands, against plain RQ in the same run (issue 20, items 2 and 3).

- **commands**: one handler call as RQ makes it (a final failure, a retried one), the INFO
  commandstats delta around it (Lua's inner commands included): what the server executes for it.
- **add**: sequential `DeadLetterQueue.add` of synthetic entries (the archive off, as by default):
  server CPU per add from INFO commandstats (EVALSHA usec / calls) and from INFO cpu, and the
  commands each add runs.
- **final** / **retried**: interleaved pairs of in-process `SimpleWorker` bursts, ours (our `enqueue`:
  `on_failure`) and plain RQ (`queue.enqueue`), which one goes first alternating, on a fresh database
  each: always-failing jobs without retries (final failures), or jobs failing 3 times then succeeding
  (retried attempts). Per pair: the worker's CPU (this process: `getrusage(RUSAGE_SELF)` around the
  burst; a `SimpleWorker` runs its jobs in-process, so it is worker and work-horse in one), the
  server's CPU (`INFO cpu` user + sys) and its commands (commandstats, INFO excluded). The extra
  per final failure (or per retried attempt) is ours minus plain, as a share of plain's per failed
  job (per run); the figure is the median of the pairs.

CPU time and command counts, not wall time: on a loaded machine they still mean something. Run it
under `nice -n 19` on a private server (the default): INFO cpu is the whole server's.

- **ab**: the add script of before 2026-11 (the test fixture) against today's on one server, in
  alternating batches: the fairest before/after of the server's CPU per add on a loaded machine.

    python -m benchmarks.server_cost [--jobs 400] [--pairs 5] [--adds 3000] [--only ab,final,retried]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from redis import Redis
from rq import Queue, Retry, SimpleWorker

from benchmarks import log_files, round_trips, tasks
from benchmarks.server import BenchServer, apply_bench_settings, bench_server
from benchmarks.synthetic import make_entries
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.store import DeadLetterQueue
from worker_tasks import enqueue

QUEUE = "default"
RETRIES = 3
PREFIX = "bench:cost:"
TTL = 7 * 86400


@dataclass(frozen=True)
class Usage:
    worker_cpu: float  # seconds, this process
    server_cpu: float  # seconds, the whole server
    commands: int  # server commands, INFO excluded

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.worker_cpu - other.worker_cpu, self.server_cpu - other.server_cpu, self.commands - other.commands
        )


def usage(connection: Redis) -> Usage:
    own = resource.getrusage(resource.RUSAGE_SELF)
    cpu = connection.info("cpu")
    stats = connection.info("commandstats")
    commands = sum(int(value["calls"]) for name, value in stats.items() if name != "cmdstat_info")
    return Usage(own.ru_utime + own.ru_stime, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), commands)


def measured(connection: Redis, action: Callable[[], object]) -> Usage:
    before = usage(connection)
    action()
    return usage(connection) - before


def command_calls(connection: Redis) -> dict[str, tuple[int, float]]:
    stats = connection.info("commandstats")
    return {name.removeprefix("cmdstat_"): (int(v["calls"]), float(v["usec"])) for name, v in stats.items()}


# -- one handler call --------------------------------------------------------------------------------


def commands_per_call(server: BenchServer) -> None:
    server.fresh()
    round_trips.measure_call(server, None, None)  # loads `add`
    round_trips.measure_call(server, Retry(max=RETRIES, interval=0), 2)  # loads `count`
    final = round_trips.measure_call(server, None, None)
    retried = round_trips.measure_call(server, Retry(max=RETRIES, interval=0), 2)
    for name, call in (("final failure", final), ("retried failure", retried)):
        print(f"commands per {name}: {sum(call.commands.values())} ({call.describe()}); round trips {call.round_trips}")


# -- sequential adds ---------------------------------------------------------------------------------


def add_all(dlq: DeadLetterQueue, entries: list[DeadLetterEntry]) -> None:
    for entry in entries:
        dlq.add(entry)


def sequential_adds(server: BenchServer, adds: int, repeat: int) -> None:
    per_add, cpu_per_add, commands = [], [], []
    for _ in range(repeat):
        connection = server.fresh()
        dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=adds * 10)
        entries = list(make_entries(adds + 1))
        dlq.add(entries[0])  # loads the script
        before = command_calls(connection)
        spent = measured(connection, partial(add_all, dlq, entries[1:]))
        after = command_calls(connection)
        calls = after["evalsha"][0] - before.get("evalsha", (0, 0.0))[0]
        usec = after["evalsha"][1] - before.get("evalsha", (0, 0.0))[1]
        per_add.append(usec / calls)
        cpu_per_add.append(spent.server_cpu / adds * 1e6)
        commands.append(spent.commands / adds)
        inner = {
            name: (after[name][0] - before.get(name, (0, 0.0))[0], after[name][1] - before.get(name, (0, 0.0))[1])
            for name in after
            if name != "info"
        }
        print(
            "  per add (calls, µs): "
            + ", ".join(
                f"{name} {calls / adds:.2f} ({usec / adds:.1f} µs)"
                for name, (calls, usec) in sorted(inner.items(), key=lambda kv: -kv[1][1])
                if calls > 0
            )
        )
    print(
        f"server CPU per add (EVALSHA usec/calls): {statistics.median(per_add):.1f} µs "
        f"(runs {', '.join(f'{v:.1f}' for v in per_add)}); INFO cpu per add {statistics.median(cpu_per_add):.1f} µs; "
        f"commands per add {statistics.median(commands):.2f}"
    )


def previous_vs_current(server: BenchServer, adds: int, rounds: int) -> None:
    """The add script of before 2026-11 (kept verbatim in tests/fixtures/dlq_layout_2026_11) against
    today's, on one server, in alternating batches of `adds` (each under its own prefix): EVALSHA usec
    per add and INFO cpu per add of each batch, medians over `rounds` pairs. Both under the same load."""
    from tests.dlq_layout_before import SCRIPT  # the repository's tests package: run from its root

    connection = server.fresh()
    previous = connection.script_load(SCRIPT)
    current_dlq = DeadLetterQueue(connection, PREFIX + "now:", TTL, max_entries=adds * rounds * 2)
    previous_dlq = DeadLetterQueue(connection, PREFIX + "before:", TTL, max_entries=adds * rounds * 2)
    results: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
    for pair in range(rounds):
        for which in ("before", "now") if pair % 2 == 0 else ("now", "before"):
            entries = list(make_entries(adds))
            before = command_calls(connection)
            cpu_before = usage(connection)
            if which == "now":
                add_all(current_dlq, entries)
            else:
                for entry in entries:
                    args = previous_dlq._add_args(entry, expected="none")
                    fields = entry.to_hash()
                    old = [*args[:7], "", json.dumps(fields, ensure_ascii=False), "", "", "none"]
                    connection.evalsha(previous, 0, *old)
            spent = usage(connection) - cpu_before
            after = command_calls(connection)
            usec = after["evalsha"][1] - before.get("evalsha", (0, 0.0))[1]
            results[which].append((usec / adds, spent.server_cpu / adds * 1e6))
    for which, rows in results.items():
        usec, cpu = statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)
        batches = ", ".join(f"{r[0]:.0f}" for r in rows)
        print(f"{which}: EVALSHA {usec:.1f} µs per add (batches {batches}); INFO cpu {cpu:.1f} µs per add")


# -- interleaved worker pairs ------------------------------------------------------------------------


def enqueue_failing(connection: Redis, jobs: int, ours: bool, retried: bool) -> None:
    func = tasks.fails_until_last_retry if retried else tasks.always_fails
    retry = Retry(max=RETRIES, interval=0) if retried else None
    queue = Queue(QUEUE, connection=connection)
    with connection.pipeline() as pipe:
        for n in range(jobs):
            if ours:
                enqueue(func, n, connection=connection, pipeline=pipe, retry=retry)
            else:
                queue.enqueue(func, n, pipeline=pipe, retry=retry)
        pipe.execute()


def burst(connection: Redis) -> None:
    SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work(burst=True, logging_level="INFO")


def one_run(server: BenchServer, jobs: int, ours: bool, retried: bool) -> Usage:
    connection = server.fresh()
    enqueue_failing(connection, jobs, ours, retried)
    return measured(connection, lambda: burst(connection))


def pairs_of(server: BenchServer, jobs: int, pairs: int, retried: bool) -> None:
    """Interleaved ours/plain bursts; the extra per failure as a share of plain's per failed run."""
    failed_runs = jobs * RETRIES if retried else jobs  # the runs our handler handles
    plain_runs = jobs * (RETRIES + 1) if retried else jobs  # plain RQ's runs (retried: 3 failed + 1 success)
    for ours in (True, False):  # warm-up: imports, scripts loaded, log files opened
        one_run(server, 5, ours, retried)
    rows: list[tuple[Usage, Usage]] = []
    for pair in range(pairs):
        order = (True, False) if pair % 2 == 0 else (False, True)
        result = {ours: one_run(server, jobs, ours, retried) for ours in order}
        rows.append((result[True], result[False]))
    what = "retried attempt" if retried else "final failure"
    print(f"== {pairs} pairs of {jobs} jobs ({what}s; plain's per {'run' if retried else 'failed job'})")
    for label, pick in (("worker CPU", "worker_cpu"), ("server CPU", "server_cpu"), ("server commands", "commands")):
        shares, extras, bases = [], [], []
        for ours_run, plain_run in rows:
            plain = getattr(plain_run, pick) / plain_runs
            extra = (getattr(ours_run, pick) - getattr(plain_run, pick)) / failed_runs
            shares.append(extra / plain)
            extras.append(extra)
            bases.append(plain)
        scale, unit = (1, "") if pick == "commands" else (1e6, " µs")
        print(
            f"{label}: plain {statistics.median(bases) * scale:.1f}{unit} per {'run' if retried else 'job'}, "
            f"extra {statistics.median(extras) * scale:.1f}{unit} per {what} = "
            f"{statistics.median(shares):.1%} (pairs {', '.join(f'{s:.1%}' for s in shares)})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=400, help="jobs per burst [400]")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved ours/plain pairs [5]")
    parser.add_argument("--adds", type=int, default=3000, help="sequential adds per run [3000]")
    parser.add_argument("--only", default="commands,add,ab,final,retried", help="which parts, comma-separated")
    options = parser.parse_args()
    parts = set(options.only.split(","))
    apply_bench_settings()
    with bench_server() as server, tempfile.TemporaryDirectory(prefix="server-cost-logs-") as log_dir:
        print(f"on {server.version()}: {server.description}", file=sys.stderr)
        with log_files.logs_to_files(Path(log_dir)):
            if "commands" in parts:
                commands_per_call(server)
            if "add" in parts:
                sequential_adds(server, options.adds, 3)
            if "ab" in parts:
                previous_vs_current(server, 500, 8)
            if "final" in parts:
                pairs_of(server, options.jobs, options.pairs, retried=False)
            if "retried" in parts:
                pairs_of(server, max(1, options.jobs // RETRIES), options.pairs, retried=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
