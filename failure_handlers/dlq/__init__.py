"""The dead-letter queue: its keys, entry format, Lua scripts, storage, statistics, claims,
filters and health thresholds."""

from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.stats import DlqStats, GroupStats
from failure_handlers.dlq.store import DeadLetterQueue

__all__ = ["DeadLetterEntry", "DeadLetterQueue", "DlqFilter", "DlqStats", "GroupStats"]
