"""loguru configuration from `LOG_LEVEL` and `LOG_JSON` (one stderr sink, set up once per process)."""

from __future__ import annotations

import sys

from loguru import logger

from failure_handlers.config import Settings

_configured: tuple[str, bool] | None = None


def configure_logging(settings: Settings) -> None:
    """Replace loguru's default sink with one honouring the settings; idempotent."""
    global _configured
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
