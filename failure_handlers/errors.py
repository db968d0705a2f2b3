"""Exceptions of the failure-handling layer.

`PermanentError` is for task authors; the others are operator-facing errors that the
command-line edge turns into one `error: ...` line and exit status 2.
"""


class PermanentError(Exception):
    """Raise (or subclass) in a task for a failure that retrying cannot fix.

    The failure handler stops the remaining retries and moves the job straight to the DLQ.
    """


class OperatorError(Exception):
    """An error the operator can cause and fix; its message is shown as `error: <message>`."""


class ConfigError(OperatorError):
    """A configuration variable has a value we cannot use."""


class RedisUnavailable(OperatorError):
    """Redis cannot be reached or refused our credentials."""


class JobNotFound(OperatorError):
    """No RQ job with that id exists."""


class JobNotFailed(OperatorError):
    """The job exists but is not in its queue's FailedJobRegistry."""


class RetryAfter(Exception):  # noqa: N818 - named for what it asks, like HTTP's header
    """Raise in a task to be retried after `seconds` (bounded by `RETRY_AFTER_MAX`), e.g. when an API
    told you when to come back. It uses one retry of the job's budget; no jitter is added.

    A negative or NaN value means "as soon as possible" (0): a task raising it wants a retry, never
    an error about its argument.
    """

    def __init__(self, seconds: float, message: str = "") -> None:
        try:
            value = float(seconds)
        except (TypeError, ValueError):
            value = 0.0
        self.seconds = value if value >= 0 else 0.0  # NaN compares False: 0
        super().__init__(message or f"retry after {self.seconds:g}s")
