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


class DlqWriteConflict(Exception):
    """A job's DLQ entry changed under every one of our compare-and-set writes (writers racing on it)."""


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


# --- Circuit breakers and idempotent tasks (failure_handlers/circuits, failure_handlers/idempotency) ---
# Both are transient. CircuitOpen is a RetryAfter: the job is retried after `retry_after` seconds (the
# handler's Retry-After rule, bounded by RETRY_AFTER_MAX, no jitter), when the circuit lets a probe
# through. IdempotencyKeyBusy keeps the job's planned delay: its `retry_after` (the other run's lock
# TTL) is only an upper bound, and the other run usually ends long before.


class CircuitOpen(RetryAfter):
    """A call guarded by an open circuit was not made: the service failed too often recently.

    `retry_after` (also `delay`) is the number of seconds until the circuit lets one probe call through.
    """

    def __init__(self, circuit: str, retry_after: float) -> None:
        self.circuit = circuit
        self.retry_after = max(0.0, float(retry_after))
        super().__init__(
            self.retry_after,
            f"circuit {circuit!r} is open: calls fail fast for {self.retry_after:.1f} s more (then one probe call)",
        )

    @property
    def delay(self) -> float:
        return self.retry_after

    def __reduce__(self) -> tuple[type, tuple[str, float]]:
        return type(self), (self.circuit, self.retry_after)


class IdempotencyKeyBusy(Exception):
    """Another run of the same idempotency key is in progress; retry once it is done.

    `retry_after` is the number of seconds until that run's lock expires at the latest.
    """

    def __init__(self, key: str, retry_after: float) -> None:
        self.key = key
        self.retry_after = max(0.0, float(retry_after))
        super().__init__(
            f"idempotency key {key!r} is being processed by another run (lock for {self.retry_after:.1f} s)"
        )

    def __reduce__(self) -> tuple[type, tuple[str, float]]:
        return type(self), (self.key, self.retry_after)


class IdempotencyKeyError(PermanentError, ValueError):
    """An idempotent task's key cannot be built from the call's arguments (a bug: not retried)."""
