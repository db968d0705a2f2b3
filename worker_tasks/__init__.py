"""Jobs: plain sync functions, and `enqueue` to run them with retries and the failure handler."""

from failure_handlers.circuits import circuit
from failure_handlers.errors import CircuitOpen
from failure_handlers.idempotency import idempotent
from failure_handlers.logging_setup import quiet_library

from .downloads import ContentTooLarge, download_content
from .enqueue import FROM_CONFIG, TaskOptions, build_retry, enqueue, task
from .example_tasks import InvoiceRejected, add, flaky_sync, import_invoice
from .retries import PlannedRetry, RetryAfter
from .webhooks import InvalidWebhook, send_webhook

# Silent in an application's process until our own entry points turn it on (failure_handlers/logging_setup.py).
quiet_library("worker_tasks")

__all__ = [
    "FROM_CONFIG",
    "ContentTooLarge",
    "InvoiceRejected",
    "PlannedRetry",
    "RetryAfter",
    "TaskOptions",
    "add",
    "build_retry",
    "download_content",
    "enqueue",
    "flaky_sync",
    "import_invoice",
    "task",
    # circuit breakers, idempotent tasks and the webhook task
    "CircuitOpen",
    "InvalidWebhook",
    "circuit",
    "idempotent",
    "send_webhook",
]
