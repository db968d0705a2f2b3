"""The dead-letter queue: its entry format, storage, statistics, claims, filters and health thresholds.

Its keys and Lua scripts belong to the project's Redis namespace (`failure_handlers.storage`), which
the DLQ shares with circuits, idempotency, alerts, the archive and the metrics."""

from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.filters import DlqFilter
from failure_handlers.dlq.stats import DlqStats, GroupStats
from failure_handlers.dlq.store import DeadLetterQueue

__all__ = ["DeadLetterEntry", "DeadLetterQueue", "DlqFilter", "DlqStats", "GroupStats"]
