"""What RQ recorded for failures our handler never saw, turned into readable causes (pure)."""

import pytest

from failure_handlers.recording.cause import (
    ABANDONED,
    JOB_STOPPED,
    STUCK_IN_TRANSIT,
    UNKNOWN,
    WORK_HORSE_KILLED,
    cause_of,
)

TRACEBACK = """Traceback (most recent call last):
  File "/app/rq/worker/base.py", line 1671, in perform_job
    return_value = job.perform()
  File "/app/tasks.py", line 3, in charge
    raise billing.CardDeclined("card 4242 declined: insufficient funds")
billing.CardDeclined: card 4242 declined: insufficient funds
"""


@pytest.mark.parametrize(
    ("exc_string", "status", "exc_type", "fragment", "reason"),
    [
        ("Work-horse terminated unexpectedly; waitpid returned 9 (signal 9); ", "failed", WORK_HORSE_KILLED,
         "signal 9 (SIGKILL", "work-horse killed"),
        ("Work-horse terminated unexpectedly; waitpid returned 11 (signal 11); ", "failed", WORK_HORSE_KILLED,
         "signal 11 (SIGSEGV)", "work-horse killed"),
        ("Work-horse terminated unexpectedly; waitpid returned 256; ", "failed", WORK_HORSE_KILLED,
         "waitpid status 256", "work-horse killed"),
        ("Job stopped by user, work-horse terminated.", "stopped", JOB_STOPPED, "stopped by an operator", "stopped"),
        ("", "stopped", JOB_STOPPED, "rq job stop", "stopped"),
        ("Moved to FailedJobRegistry, due to AbandonedJobError, at 2026-11-23 10:00:00", "failed", ABANDONED,
         "stopped sending heartbeats", "abandoned"),
        ("Job was stuck in intermediate queue.", "failed", STUCK_IN_TRANSIT, "intermediate queue",
         "lost by a dying worker"),
        (TRACEBACK, "failed", "billing.CardDeclined", "card 4242 declined: insufficient funds", "did not record it"),
        ("Traceback (most recent call last):\n  File \"x\"\nKeyboardInterrupt\n", "failed", "KeyboardInterrupt", "",
         "did not record it"),
        ("", "failed", UNKNOWN, "no cause", "without a recorded cause"),
        ("something odd happened here", "failed", UNKNOWN, "something odd happened here", "did not record it"),
    ],
)  # fmt: skip
def test_causes(exc_string, status, exc_type, fragment, reason):
    cause = cause_of(exc_string, status)
    assert cause.exc_type == exc_type
    assert fragment in cause.message
    assert reason in cause.reason
