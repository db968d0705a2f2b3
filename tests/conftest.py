"""Shared fixtures: settings from the environment, captured logs, fakeredis for unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import fakeredis
import pytest
from loguru import logger

from failure_handlers import runtime
from failure_handlers.logging_setup import enable_library_logging
from tests import archive_db

# What the tests run with; nothing comes from a developer's .env (see `isolated_settings`).
TEST_ENV = {
    "RETRY_MAX": "3",
    "RETRY_INTERVALS": "1",
    "JOB_TIMEOUT": "30",
    "DLQ_PREFIX": "test:dlq:",
    "DLQ_TTL_SECONDS": "3600",
    "NON_RETRYABLE_EXCEPTIONS": "",
    "LOG_LEVEL": "DEBUG",
    "LOG_JSON": "false",
}


@pytest.fixture(autouse=True)
def isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run every test from an empty directory (no .env) with `TEST_ENV`, and fresh cached settings."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("RQ_SERIALIZER", raising=False)
    monkeypatch.delenv("ARCHIVE_URL", raising=False)
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    _clear_runtime_caches()
    yield
    _clear_runtime_caches()


def _clear_runtime_caches() -> None:
    for cached in (runtime.settings, runtime.serializer, runtime.default_connection):
        cached.cache_clear()


@pytest.fixture
def log_messages() -> Iterator[list[str]]:
    """loguru messages (`LEVEL message`) emitted during the test (the library's, turned on as our entry points do)."""
    enable_library_logging()
    messages: list[str] = []
    sink = logger.add(lambda m: messages.append(m.record["level"].name + " " + m.record["message"]), level="DEBUG")
    yield messages
    logger.remove(sink)


@pytest.fixture(params=archive_db.BACKENDS)
def archive_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty archive database: SQLite, then PostgreSQL when TEST_DATABASE_URL is set (else skipped)."""
    yield from archive_db.database_url(request.param, tmp_path)


@pytest.fixture
def fake_redis() -> fakeredis.FakeRedis:
    """In-process fake Redis (with Lua via lupa) for fast unit tests only."""
    return fakeredis.FakeRedis()
