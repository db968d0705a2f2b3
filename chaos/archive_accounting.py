"""The chaos experiment's accounting for the failure archive: every dead job of the run has exactly
one row, `open`, for the dead-lettering its DLQ entry holds; any other row of a job of the run is a
dead-lettering that ended `requeued` (the job ran again, see ChaosFigures.counted_requeued), and
there are as many of those as the requeued counter says."""

from __future__ import annotations

from collections import Counter

from redis import Redis
from sqlalchemy import select

from failure_handlers.archive import database
from failure_handlers.archive.archiver import Archiver
from failure_handlers.archive.events import EventStream
from failure_handlers.archive.schema import failed_jobs
from failure_handlers.config import Settings
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.storage.keys import ENTRY_ARCHIVE_ID


def init_schema(settings: Settings) -> None:
    database.upgrade(database.make_engine(settings.archive), settings.archive)


def account_archive(connection: Redis, settings: Settings, dlq: DeadLetterQueue, ids: list[str], figures) -> str:  # noqa: ANN001
    """Drain what the archiver left (it may just have been killed), then compare rows with the DLQ."""
    engine = database.make_engine(settings.archive)
    report = Archiver(connection, settings, engine, consumer="chaos-accounting").run_once()
    with engine.connect() as db:
        rows = db.execute(
            select(failed_jobs.c.job_id, failed_jobs.c.dead_letter_id, failed_jobs.c.outcome).where(
                failed_jobs.c.job_id.in_(ids)
            )
        ).all()
    engine.dispose()
    with connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hget(dlq.keys.entry(job_id), ENTRY_ARCHIVE_ID)
        archive_ids = dict(zip(ids, pipe.execute(), strict=True))
    dead = {job_id for job_id in ids if archive_ids[job_id] is not None}
    per_job = Counter(job_id for job_id, _, _ in rows)
    good = {
        job_id
        for job_id, dead_letter_id, outcome in rows
        if outcome == "open" and job_id in dead and dead_letter_id == archive_ids[job_id].decode()
    }
    figures.archive_rows = len(rows)
    figures.archive_missing = sorted(dead - good)
    requeued = Counter(job_id for job_id, _, outcome in rows if outcome == "requeued")
    figures.archive_extra = sorted(
        job_id for job_id, n in per_job.items() if n - requeued[job_id] != (1 if job_id in dead else 0)
    )
    if sum(requeued.values()) != figures.counted_requeued:
        figures.archive_extra.append(f"requeued rows {sum(requeued.values())} != counted {figures.counted_requeued}")
    figures.archive_lost = EventStream(connection, settings.dlq.prefix).status().lost
    return f"archive: {report.line()}; {len(rows)} rows for {len(dead)} dead jobs"
