"""Archive databases for tests: a fresh SQLite file always, and a private schema on the real
PostgreSQL at TEST_DATABASE_URL when it is set (skipped with the reason otherwise)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

BACKENDS = ("sqlite", "postgresql")


def postgres_url_or_skip() -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: no PostgreSQL to test on (.ci/run sets it when one answers)")
    return url


def with_search_path(url: str, schema: str) -> str:
    """`url` whose sessions work in `schema` (psycopg passes `options` to the server)."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options={quote(f'-csearch_path={schema}')}"


def admin_execute(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as connection:
        connection.execute(statement)


def private_schema(url: str) -> Iterator[str]:
    """A schema of its own on `url` for one test (runs on one server never collide); dropped after."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin_execute(url, f"CREATE SCHEMA {schema}")
    try:
        yield with_search_path(url, schema)
    finally:
        admin_execute(url, f"DROP SCHEMA {schema} CASCADE")


def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'archive.db'}"
    else:
        yield from private_schema(postgres_url_or_skip())
