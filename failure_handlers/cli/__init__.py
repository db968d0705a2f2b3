"""The operator's command line: `rq-dlq` (console script) and the `scripts/` shims over the same commands."""

from failure_handlers.cli.acl_command import acl
from failure_handlers.cli.alert_command import alert
from failure_handlers.cli.archive_commands import archive, history_command
from failure_handlers.cli.audit_command import audit
from failure_handlers.cli.circuits_command import circuits
from failure_handlers.cli.dlq_commands import rq_dlq
from failure_handlers.cli.doctor_command import doctor
from failure_handlers.cli.metrics_command import metrics
from failure_handlers.cli.operator import run
from failure_handlers.cli.queue_commands import pause, paused, resume
from failure_handlers.cli.requeue_command import requeue
from failure_handlers.cli.user_command import user
from failure_handlers.web.command import web

rq_dlq.add_command(requeue)
rq_dlq.add_command(web)
rq_dlq.add_command(metrics)
rq_dlq.add_command(alert)
rq_dlq.add_command(archive)
rq_dlq.add_command(history_command, "history")
rq_dlq.add_command(circuits)
rq_dlq.add_command(acl)
rq_dlq.add_command(doctor)
rq_dlq.add_command(pause)
rq_dlq.add_command(resume)
rq_dlq.add_command(paused)
rq_dlq.add_command(audit)
rq_dlq.add_command(user)


def main() -> None:
    """`rq-dlq`: every verb; errors as one `error: ...` line, exit 2."""
    run(rq_dlq)


def requeue_main() -> None:
    """`scripts/requeue.py`: the `requeue` verb alone."""
    run(requeue)


__all__ = ["main", "requeue", "requeue_main", "rq_dlq"]
