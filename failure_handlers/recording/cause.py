"""Why a job failed, read from what RQ recorded when our failure handler did not run (pure code).

The handler writes the DLQ entry in the common case. It never runs when the work-horse is killed
(SIGKILL, OOM), when an operator stops the job, or when RQ's cleanup fails an abandoned job in a
process that cannot import the handler (docs/rq-behaviour.md#killed-work-horses). For those,
RQ leaves only the job's status and the `exc_string` of its results; this module turns them into
a readable `exc_type`, message and reason.
"""

from __future__ import annotations

import re
import signal
from dataclasses import dataclass

from failure_handlers.dlq.synthetic import ABANDONED, JOB_STOPPED, STUCK_IN_TRANSIT, UNKNOWN, WORK_HORSE_KILLED

_KILLED = re.compile(
    r"Work-horse terminated unexpectedly; waitpid returned"
    r" (?P<status>-?\d+)( \(signal (?P<sig>\d+)\))?"
)
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::(?P<msg>.*))?$")  # `pkg.Type: msg` or `Type`
_SIGNAL_HINTS = {signal.SIGKILL: "SIGKILL: killed by the OOM killer, `kill -9` or a supervisor"}


@dataclass(frozen=True)
class Cause:
    exc_type: str
    message: str
    reason: str


def cause_of(exc_string: str, status: str) -> Cause:
    """The cause of a failure RQ recorded as `exc_string` for a job now in `status`."""
    text = exc_string.strip()
    if status == "stopped" or text.startswith("Job stopped by user"):
        return Cause(JOB_STOPPED, "stopped by an operator (rq job stop / send_stop_job_command)", "stopped")
    if killed := _KILLED.search(text):
        return Cause(WORK_HORSE_KILLED, _killed_message(killed), "work-horse killed")
    if "AbandonedJobError" in text:
        return Cause(
            ABANDONED,
            "abandoned: its worker stopped sending heartbeats while running it (worker killed or lost)",
            "abandoned",
        )
    if "stuck in intermediate queue" in text:
        return Cause(
            STUCK_IN_TRANSIT,
            "its worker died after taking it from the queue and before starting it (RQ's intermediate queue)",
            "lost by a dying worker",
        )
    if not text:
        return Cause(UNKNOWN, "RQ recorded no cause for this failure", "failed without a recorded cause")
    exc_type, message = _last_exception_line(text)
    return Cause(exc_type, message, "failed; the failure handler did not record it")


def _killed_message(match: re.Match[str]) -> str:
    number = match.group("sig")
    if number is None:
        return f"work-horse exited unexpectedly (waitpid status {match.group('status')})"
    try:
        name = signal.Signals(int(number))
    except ValueError:
        return f"work-horse killed by signal {number}"
    hint = _SIGNAL_HINTS.get(name, name.name)
    return f"work-horse killed by signal {number} ({hint})"


def _last_exception_line(traceback_text: str) -> tuple[str, str]:
    """`(exc_type, message)` from the last `pkg.Type: message` line of a formatted traceback."""
    for line in reversed(traceback_text.splitlines()):
        if match := _EXCEPTION_LINE.match(line.strip()):
            return match.group("type"), (match.group("msg") or "").strip()
    last = next((line.strip() for line in reversed(traceback_text.splitlines()) if line.strip()), "")
    return UNKNOWN, last
