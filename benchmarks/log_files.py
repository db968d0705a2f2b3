"""Send the worker-side log lines of in-process benchmarks to files, as a deployed worker would."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loguru import logger

from failure_handlers.logging_setup import enable_library_logging


@contextmanager
def logs_to_files(log_dir: Path) -> Iterator[None]:
    """The handler's loguru lines to `handler.log`, RQ's logging (rq.worker, rq.job) to `rq.log`; the library's
    lines on, as in a worker started with `-c failure_handlers.rq_settings`."""
    rq_logger = logging.getLogger("rq")
    file_handler = logging.FileHandler(log_dir / "rq.log")
    rq_logger.addHandler(file_handler)
    rq_logger.propagate = False
    enable_library_logging()
    logger.remove()
    sink = logger.add(log_dir / "handler.log", level="INFO", backtrace=False, diagnose=False)
    try:
        yield
    finally:
        logger.remove(sink)
        rq_logger.removeHandler(file_handler)
        file_handler.close()
        rq_logger.propagate = True
