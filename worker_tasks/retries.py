"""Retry-policy names for task authors and call sites (README "Retry policy").

- `raise RetryAfter(seconds)` in a task: retried after that delay (bounded by RETRY_AFTER_MAX, no jitter);
- `enqueue(func, ..., retry=PlannedRetry(max=6, backoff="exponential", base=30, cap=600, jitter="equal"))`:
  a call site's own plan, which wins over `@task(...)` and the configuration.
"""

from failure_handlers.errors import RetryAfter
from failure_handlers.retry.plan import PlannedRetry

__all__ = ["PlannedRetry", "RetryAfter"]
