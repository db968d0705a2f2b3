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
