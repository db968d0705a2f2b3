"""Item 10: the failure archive. The archiver's throughput (rows/s into SQLite, and PostgreSQL when
BENCH_DATABASE_URL or TEST_DATABASE_URL is set: a private schema, dropped after), and the failure
path with the archive on vs off: handler time per final failure in an in-process `SimpleWorker`,
interleaved pairs (the stream append rides in the handler's one round trip)."""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks.figures import Figure, Paired, median, microseconds, per_second, runs
from benchmarks.handler_cost import burst, timed_handler
from benchmarks.server import BenchServer
from benchmarks.worker_throughput import JobPath, enqueue_jobs
from failure_handlers import runtime
from failure_handlers.archive import database
from failure_handlers.archive.archiver import Archiver
from failure_handlers.config import parse_settings
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.store import DeadLetterQueue

SECTION = "10. Failure archive"


def _entries(count: int) -> list[DeadLetterEntry]:
    now = time.time()
    return [
        DeadLetterEntry(
            job_id=f"bench-{n}", func_name="benchmarks.tasks.always_fails", queue="default", args=f"[{n}]",
            kwargs="{}", exc_type="builtins.ValueError", exc_message=f"bad input {n}",
            traceback="Traceback (most recent call last):\n" + "  File \"x.py\", line 1, in f\n" * 20,
            attempts=4, max_retries=3, enqueued_at="2026-11-23T00:00:00+00:00",
            failed_at=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now - n)) + "+00:00", worker="bench",
            fingerprint=f"fp{n % 20}",
        )
        for n in range(count)
    ]  # fmt: skip


def throughput(server: BenchServer, url: str, rows: int) -> float:
    """Rows per second the archiver writes: `rows` dead events waiting, drained in batches of 500."""
    settings = parse_settings({**os.environ, "ARCHIVE_URL": url, "DLQ_MAX_ENTRIES": str(rows * 2)})
    connection = server.fresh()
    dlq = DeadLetterQueue.from_settings(connection, settings.dlq, settings.archive)
    dlq.add_many(_entries(rows))
    engine = database.make_engine(settings.archive)
    database.upgrade(engine, settings.archive)
    started = time.perf_counter()
    report = Archiver(connection, settings, engine).drain()
    seconds = time.perf_counter() - started
    engine.dispose()
    if report.events != rows:
        raise RuntimeError(f"expected {rows} events archived, saw {report.events}")
    return rows / seconds


def _postgres_url() -> str | None:
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")


def throughput_figures(server: BenchServer, rows: int, repeat: int) -> list[Figure]:
    figures = []
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as scratch:
        rates = [throughput(server, f"sqlite:///{Path(scratch) / f'a{n}.db'}", rows) for n in range(repeat)]
    figures.append(Figure(SECTION, f"archiver into SQLite, {rows:,} dead-letterings (rows/s)", runs(rates, per_second)))
    url = _postgres_url()
    if url is None:
        figures.append(Figure(SECTION, "archiver into PostgreSQL (rows/s)", "not run: set BENCH_DATABASE_URL"))
        return figures
    from tests.archive_db import admin_execute, with_search_path

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    rates = []
    try:
        for _ in range(repeat):
            admin_execute(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
            rates.append(throughput(server, with_search_path(url, schema), rows))
    finally:
        admin_execute(url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    figures.append(
        Figure(SECTION, f"archiver into PostgreSQL (loopback), {rows:,} dead-letterings (rows/s)",
               runs(rates, per_second))
    )  # fmt: skip
    return figures


def failure_path_figures(server: BenchServer, jobs: int, pairs: int) -> list[Figure]:
    """Handler time per final failure, archive on vs off (ours both times), interleaved."""
    samples: dict[bool, list[float]] = {True: [], False: []}
    scratch = tempfile.mkdtemp(prefix="bench-archive-")
    try:
        for pair in range(pairs + 1):  # the first pair warms up (script load, imports) and is not kept
            for archive in (True, False) if pair % 2 == 0 else (False, True):
                if archive:
                    os.environ["ARCHIVE_URL"] = f"sqlite:///{scratch}/unused.db"
                else:
                    os.environ.pop("ARCHIVE_URL", None)
                runtime.settings.cache_clear()
                connection = server.fresh()
                enqueue_jobs(connection, JobPath.FAILURE, jobs, True)
                with timed_handler() as calls:
                    burst(connection)
                if archive and connection.xlen(f"{runtime.settings().dlq.prefix}archive:events") != jobs:
                    raise RuntimeError("the archive's events are missing")
                if pair:
                    samples[archive].append(median(calls))
    finally:
        os.environ.pop("ARCHIVE_URL", None)
        runtime.settings.cache_clear()
    paired = Paired(samples[True], samples[False], higher_is_better=False)
    return [
        Figure(
            SECTION,
            f"handler time per final failure, archive on vs off ({jobs:,} always-failing jobs, median per run)",
            runs(samples[True], microseconds),
            runs(samples[False], microseconds),
            paired.ratio,
            spread=paired.spread(),
        )
    ]
