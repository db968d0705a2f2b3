"""`python manage.py rq_dlq [--queue NAME] VERB [ARGS]...`: every `rq-dlq` verb on the Redis of a
django-rq queue (`RQ_QUEUES[NAME]`, default `default`), whatever `REDIS_URL` says.

Options before the verb are this command's (`--queue`, Django's `--settings`...); after it, the
verb's own, exactly as `rq-dlq` takes them (`manage.py rq_dlq list --queue billing` filters the DLQ
by queue, like `rq-dlq list --queue billing`). Errors are one `error: ...` line and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from failure_handlers import runtime
from failure_handlers.cli import rq_dlq
from failure_handlers.cli.operator import USAGE_ERROR, fail, run
from failure_handlers.contrib.django.queues import queue_config, queue_connection, url_of
from failure_handlers.errors import OperatorError


class Command(BaseCommand):
    help = (
        "Run an rq-dlq verb (list, show, stats, requeue, delete, purge, check, reconcile, web, metrics, ...) "
        "on the Redis of a django-rq queue. Options before the verb are this command's; after it, the verb's."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--queue",
            default="default",
            metavar="NAME",
            help="The django-rq queue (RQ_QUEUES) whose Redis to use (default: default).",
        )
        parser.add_argument("verb", nargs=argparse.REMAINDER, help="An rq-dlq verb and its arguments.")

    def handle(self, *args: Any, **options: Any) -> None:
        use_queue_redis(options["queue"])
        run(rq_dlq, options["verb"] or ["--help"], prog_name="manage.py rq_dlq")


def use_queue_redis(name: str) -> None:
    """Point this process's `REDIS_URL` (and `RQ_SERIALIZER`, when the queue names one) at django-rq's
    queue `name`, and hand its connection to `runtime.connect`; an unknown name is one line, exit 2."""
    try:
        config = queue_config(name)
        connection = queue_connection(name)
    except OperatorError as error:
        fail(str(error))
        sys.exit(USAGE_ERROR)
    url = url_of(connection)
    runtime.host_connection(url, connection)
    os.environ["REDIS_URL"] = url
    serializer = config.get("SERIALIZER")
    if serializer:
        os.environ["RQ_SERIALIZER"] = (
            serializer if isinstance(serializer, str) else f"{serializer.__module__}.{serializer.__qualname__}"
        )
    for cached in (runtime.settings, runtime.serializer, runtime.default_connection):
        cached.cache_clear()
