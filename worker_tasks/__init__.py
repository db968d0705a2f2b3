"""Jobs: plain sync functions, and `enqueue` to run them with retries and the failure handler."""

from .downloads import ContentTooLarge, download_content
from .enqueue import FROM_CONFIG, TaskOptions, build_retry, enqueue, task
from .example_tasks import InvoiceRejected, add, flaky_sync, import_invoice

__all__ = [
    "FROM_CONFIG",
    "ContentTooLarge",
    "InvoiceRejected",
    "TaskOptions",
    "add",
    "build_retry",
    "download_content",
    "enqueue",
    "flaky_sync",
    "import_invoice",
    "task",
]
