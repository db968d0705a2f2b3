"""Item 6: what one DLQ entry costs in Redis (`MEMORY USAGE <entry> SAMPLES 0`), typical and hostile.

Entries are written by the real handler: jobs run by an in-process `SimpleWorker` fail from 10
frames deep, with a typical message, or with a 10 MB one (ASCII, or 4-byte UTF-8 characters, whose
byte size is 4x their character count), with 1, 4 or 25 recorded attempts. The handler bounds
fields in characters (message 2,000, traceback 8,000, args 4,000), so the byte cost of the
largest fields is reported next to each hostile case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import Queue, Retry

from benchmarks import tasks
from benchmarks.figures import Figure, kilobytes, median
from benchmarks.handler_cost import burst
from benchmarks.server import BenchServer
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.runtime import settings
from worker_tasks import enqueue

TYPICAL_TARGET_BYTES = 4 * 1024
HARD_CAP_BYTES = 64 * 1024
FOUR_BYTE_CHAR = "\U0001f4a5"  # 4 bytes in UTF-8


@dataclass(frozen=True)
class Case:
    label: str
    jobs: int
    func: Callable[..., Any]
    args: tuple[Any, ...]
    retries: int  # 0: enqueued without Retry
    hostile: bool  # judged against the hard cap rather than the typical target


def cases(huge_bytes: int, typical_jobs: int) -> list[Case]:
    huge = f"{huge_bytes / 1e6:g} MB"
    return [
        Case("typical 10-frame traceback, no retries", typical_jobs, tasks.always_fails, (), 0, False),
        Case(
            "typical 10-frame traceback, retries exhausted (4 attempts)", typical_jobs, tasks.always_fails, (), 3, False
        ),
        Case(f"{huge} ASCII message and traceback, no retries", 2, tasks.fails_with_message, (huge_bytes,), 0, True),
        Case(f"{huge} ASCII message and traceback, 4 attempts", 2, tasks.fails_with_message, (huge_bytes,), 3, True),
        Case(
            f"{huge} message of 4-byte characters, 4 attempts",
            2,
            tasks.fails_with_message,
            (huge_bytes // 4, FOUR_BYTE_CHAR),
            3,
            True,
        ),
        Case(
            f"{huge} message of 4-byte characters, 25 recorded attempts (Retry(max=24))",
            1,
            tasks.fails_with_message,
            (huge_bytes // 4, FOUR_BYTE_CHAR),
            24,
            True,
        ),
        Case(
            f"{huge} job argument (also in the message), no retries",
            1,
            tasks.always_fails,
            ("x" * huge_bytes,),
            0,
            True,
        ),
    ]


def entry_sizes(connection: Redis, dlq: DeadLetterQueue) -> list[tuple[int, dict[str, int]]]:
    """Per entry: MEMORY USAGE (exact), and each field's stored length in bytes."""
    ids = dlq.select_ids(DlqFilter())
    sizes = []
    for job_id in ids:
        key = dlq.keys.entry(job_id)
        usage = int(connection.memory_usage(key, samples=0) or 0)
        fields = [field.decode() for field in connection.hkeys(key)]
        with connection.pipeline(transaction=False) as pipe:
            for field in fields:
                pipe.hstrlen(key, field)
            lengths = pipe.execute()
        sizes.append((usage, dict(zip(fields, (int(n) for n in lengths), strict=True))))
    return sizes


def measure_case(server: BenchServer, case: Case) -> list[tuple[int, dict[str, int]]]:
    connection = server.fresh()
    retry = Retry(max=case.retries, interval=0) if case.retries else None
    for n in range(case.jobs):
        args = case.args or (n,)
        enqueue(case.func, *args, connection=connection, retry=retry)
    burst(connection)
    dlq = DeadLetterQueue.from_settings(connection, settings().dlq, settings().archive)
    sizes = entry_sizes(connection, dlq)
    if len(sizes) != case.jobs:
        raise RuntimeError(f"{case.label}: expected {case.jobs} DLQ entries, found {len(sizes)}")
    if not Queue("default", connection=connection).failed_job_registry.count == case.jobs:
        raise RuntimeError(f"{case.label}: not every job failed")
    return sizes


def figures(server: BenchServer, huge_bytes: int, typical_jobs: int) -> list[Figure]:
    rows = []
    for case in cases(huge_bytes, typical_jobs):
        sizes = measure_case(server, case)
        usage = median([size for size, _ in sizes]) if not case.hostile else max(size for size, _ in sizes)
        limit = HARD_CAP_BYTES if case.hostile else TYPICAL_TARGET_BYTES
        largest = sorted(max(sizes, key=lambda size: size[0])[1].items(), key=lambda item: -item[1])[:3]
        statistic = "max" if case.hostile else "median"
        fields = ", ".join(f"`{name}` {kilobytes(length)}" for name, length in largest)
        rows.append(
            Figure(
                "6. Memory per DLQ entry",
                f"{case.label}: MEMORY USAGE, {statistic} of {case.jobs} (largest fields)",
                f"{kilobytes(usage)} ({fields})",
                target=f"<= {kilobytes(limit)}" + (" (hard cap)" if case.hostile else " (median)"),
                met=usage <= limit,
            )
        )
    return rows
