"""Jobs whose retry RQ 3.0 left half-written, found and scheduled again (the reconciler, step 1).

RQ 3.0's `Job.retry` sets the job's status to `scheduled` at once, outside the pipeline that then
puts it in the ScheduledJobRegistry and counts the retry (`rq/job.py`). A worker (or the process
running RQ's cleanup) killed between the two leaves a job `scheduled` in no registry and still in
the StartedJobRegistry. RQ's cleanup of abandoned jobs then skips it (only `started` means
abandoned) and drops it from the StartedJobRegistry: nothing names the job any more, it never runs
again. Seen in the chaos experiment under load: `chaos-00690-ok`, status `scheduled`,
`retries_left` 3 (the pipeline's decrement never happened), in no queue or registry, and the
experiment at 1999 of 2000 jobs at its deadline (docs/rq-behaviour.md#a-retry-torn-by-a-kill).

`repair_torn_retries` runs before that cleanup: each expired member of the StartedJobRegistry whose
job says `scheduled` but is not in the ScheduledJobRegistry is scheduled again, due now (its retry
budget as the job hash has it). Pure reads for any other job.
"""

from __future__ import annotations

from datetime import UTC, datetime

from loguru import logger
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.serializers import Serializer


def repair_torn_retries(queue: Queue, serializer: Serializer | None = None) -> list[str]:
    """Schedule again, due now, the jobs of `queue` whose retry was torn (see the module docstring)."""
    started = StartedJobRegistry(queue=queue)
    scheduled = queue.scheduled_job_registry
    repaired = []
    for member in started.get_expired_job_ids():
        job_id = member.decode() if isinstance(member, bytes) else str(member)
        try:
            job = Job.fetch(job_id, connection=queue.connection, serializer=serializer)
        except NoSuchJobError:
            continue
        if job.get_status(refresh=False) != JobStatus.SCHEDULED:
            continue
        if queue.connection.zscore(scheduled.key, job_id) is not None:
            continue
        queue.schedule_job(job, datetime.now(UTC))
        repaired.append(job_id)
        logger.warning(
            "Job {} of queue {!r}: its retry was torn by a process killed mid-way (status scheduled, in no "
            "registry): scheduled again, due now",
            job_id,
            queue.name,
        )
    return repaired
