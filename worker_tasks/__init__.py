"""Jobs: plain sync functions, and `enqueue` to run them with retries and the failure handler."""

from failure_handlers.circuits import circuit  # issue 12
from failure_handlers.errors import CircuitOpen  # issue 12
from failure_handlers.idempotency import idempotent  # issue 12

from .downloads import ContentTooLarge, download_content
from .enqueue import FROM_CONFIG, TaskOptions, build_retry, enqueue, task
from .example_tasks import InvoiceRejected, add, flaky_sync, import_invoice
from .retries import PlannedRetry, RetryAfter  # retry policy (issue 12)
from .webhooks import InvalidWebhook, send_webhook  # issue 12

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
    # issue 12: circuit breakers, dedup and idempotent tasks
    "CircuitOpen",
    "InvalidWebhook",
    "circuit",
    "idempotent",
    "send_webhook",
]
