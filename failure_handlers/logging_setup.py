"""Logging: quiet as a library, configured by our own entry points.

Imported into an application (a web process that enqueues, a Django project), `failure_handlers`
and `worker_tasks` add no loguru sink and emit nothing: each package's `__init__` disables its
messages (`quiet_library`, loguru's advice for libraries). Our own entry points turn them on and
set up the one stderr sink from `LOG_LEVEL` and `LOG_JSON` (`configure_logging`): the `rq-dlq`
command line and `scripts/`, the worker's `-c failure_handlers.rq_settings`, the Django worker
class and management command (`failure_handlers.contrib.django`), `make demo`. An application that
wants our lines in its own sinks calls `enable_library_logging()` (or `logger.enable(...)`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from failure_handlers.config import Settings

LIBRARY_PACKAGES = ("failure_handlers", "worker_tasks")

_configured: tuple[str, bool] | None = None
_enabled = False


def quiet_library(package: str) -> None:
    """Silence `package`'s loguru messages, unless an entry point of ours already turned them on (a
    worker imports `worker_tasks` only when its first job runs: it must not silence it then)."""
    if not _enabled:
        logger.disable(package)


def enable_library_logging() -> None:
    """Let the messages of `failure_handlers` and `worker_tasks` reach loguru's sinks."""
    global _enabled
    _enabled = True
    for package in LIBRARY_PACKAGES:
        logger.enable(package)


def configure_logging(settings: Settings) -> None:
    """For our own processes only: replace loguru's sinks with one on stderr honouring the settings,
    and turn on the library's messages; idempotent."""
    global _configured
    enable_library_logging()
    wanted = (settings.log_level, settings.log_json)
    if _configured == wanted:
        return
    logger.remove()
    logger.add(
        sys.stderr,
        level=settings.log_level,
        serialize=settings.log_json,
        backtrace=False,
        diagnose=False,  # never print local variables: they may hold secrets
    )
    _configured = wanted
