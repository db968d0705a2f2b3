"""Per-queue pause: the state operators set (`pause.py`) and the worker classes that obey it (`worker.py`)."""

from failure_handlers.queues.worker import PausableSimpleWorker, PausableWorker

__all__ = ["PausableSimpleWorker", "PausableWorker"]
