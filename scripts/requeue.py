"""Requeue failed jobs: the same command as `rq-dlq requeue` (`python scripts/requeue.py <job_id>`)."""

from failure_handlers.cli import requeue_main

if __name__ == "__main__":
    requeue_main()
