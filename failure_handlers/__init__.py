"""Failure handling for RQ: the `on_failure` callback, the retry policy and the dead-letter queue."""

from failure_handlers.config import Settings, load_settings, parse_settings
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.stats import DlqStats
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.errors import (
    ConfigError,
    JobNotFailed,
    JobNotFound,
    OperatorError,
    PermanentError,
    RedisUnavailable,
    RetryAfter,
)
from failure_handlers.handler import on_failure
from failure_handlers.logging_setup import quiet_library
from failure_handlers.retry.policy import Verdict, classify, retry_delay

# A library in the host's process: silent until our own entry points turn it on (logging_setup.py).
quiet_library("failure_handlers")

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
    "RetryAfter",
    "Settings",
    "Verdict",
    "classify",
    "load_settings",
    "on_failure",
    "parse_settings",
    "retry_delay",
]
