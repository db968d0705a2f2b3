"""Failure handling for RQ: the `on_failure` callback, the retry policy and the dead-letter queue."""

from .config import Settings, load_settings, parse_settings
from .dead_letter_entry import DeadLetterEntry
from .dead_letter_queue import DeadLetterQueue, DlqStats
from .errors import (
    ConfigError,
    JobNotFailed,
    JobNotFound,
    OperatorError,
    PermanentError,
    RedisUnavailable,
)
from .handler import on_failure
from .retry_policy import Verdict, classify, retry_delay

__all__ = [
    "ConfigError",
    "DeadLetterEntry",
    "DeadLetterQueue",
    "DlqStats",
    "JobNotFailed",
    "JobNotFound",
    "OperatorError",
    "PermanentError",
    "RedisUnavailable",
    "Settings",
    "Verdict",
    "classify",
    "load_settings",
    "on_failure",
    "parse_settings",
    "retry_delay",
]
