"""The causes that say what happened to a job's worker, not what the job raised (pure code).

`recording/cause.py` reads RQ's `exc_string` into them when no exception of the job's own is known;
the failure handler names a missing exception `UnknownError`. A re-recorded entry keeps a real
cause over these (`first_cause.py`), and a synthetic record of a run that also has a real record is
about that run, not a run of its own (`runs.py`).
"""

from __future__ import annotations

WORK_HORSE_KILLED = "WorkHorseKilled"
JOB_STOPPED = "JobStopped"
ABANDONED = "rq.exceptions.AbandonedJobError"
STUCK_IN_TRANSIT = "JobStuckInIntermediateQueue"
UNKNOWN = "UnknownFailure"
SYNTHETIC_CAUSES = frozenset({ABANDONED, WORK_HORSE_KILLED, JOB_STOPPED, STUCK_IN_TRANSIT, UNKNOWN, "UnknownError"})


def is_synthetic(exc_type: str) -> bool:
    """True for a cause that says what happened to the worker, not what the job raised."""
    return exc_type in SYNTHETIC_CAUSES or exc_type.rpartition(".")[2] == "AbandonedJobError"
