"""`rq-dlq doctor`: is this Redis ready for production? One finding per check, OK / WARN / FAIL.

`verdicts.py` and `acl_probes.py` decide (pure); `checks.py` reads the server and asks them.
"""

from failure_handlers.operations.doctor.checks import examine
from failure_handlers.operations.doctor.verdicts import Finding, Status, exit_status

__all__ = ["Finding", "Status", "examine", "exit_status"]
