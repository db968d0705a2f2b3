"""The archive's database: the engine for ARCHIVE_URL, its schema version, and errors made readable.

The schema is versioned with Alembic (`migrations/`, version table `rq_dlq_archive_version`).
`upgrade` creates or upgrades it (`rq-dlq archive init`); every other command first calls
`check_schema`, which refuses a database older or newer than this code with one clear line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from failure_handlers.archive.settings import ArchiveSettings
from failure_handlers.errors import OperatorError
from failure_handlers.redaction import redact_text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "rq_dlq_archive_version"  # as migrations/env.py
CONNECT_TIMEOUT_SECONDS = 5


class ArchiveUnavailable(OperatorError):
    """The archive's database cannot be reached, refused us, or failed a statement."""


class SchemaMismatch(OperatorError):
    """The archive's schema is missing, older or newer than this code."""


def make_engine(settings: ArchiveSettings) -> Engine:
    """An engine for ARCHIVE_URL: SQLite waits for a lock instead of failing; PostgreSQL times out
    connecting after a few seconds and works in UTC (per-day statistics are UTC days)."""
    if settings.url is None:
        raise OperatorError("the failure archive is off: set ARCHIVE_URL (see docs/archive.md)")
    url = make_url(settings.url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 10})
    else:
        engine = create_engine(
            url, pool_pre_ping=True, pool_size=2, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        )

        @event.listens_for(engine, "connect")
        def _utc(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI objects
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
            dbapi_connection.commit()

    return engine


def describe_error(error: BaseException, settings: ArchiveSettings) -> str:
    """One line for a database error: what failed and where, the password never shown."""
    detail = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    text = " ".join(str(detail).split("\n")[0].split())
    secrets = [make_url(settings.url).password or ""] if settings.url else []
    text = redact_text(text, secrets)
    if isinstance(error, DBAPIError) and "password authentication failed" in text:
        text += " (check the password in ARCHIVE_URL)"
    return f"archive database {settings.shown_url}: {text}"


@contextmanager
def reporting(settings: ArchiveSettings) -> Iterator[None]:
    """Turn SQLAlchemy errors into `ArchiveUnavailable` with one redacted line."""
    try:
        yield
    except SQLAlchemyError as error:
        raise ArchiveUnavailable(describe_error(error, settings)) from None


def _alembic_config(connection) -> Config:  # noqa: ANN001 - an SQLAlchemy Connection
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The schema revision this code writes and reads."""
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None if the archive was never initialised there."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(engine: Engine, settings: ArchiveSettings) -> tuple[str | None, str]:
    """Create or upgrade the schema to this code's revision; returns (before, after).

    Refuses a database newer than the code: downgrading would drop what an auditor may need."""
    with reporting(settings):
        before = current_revision(engine)
        _refuse_newer(before, settings)
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
    return before, head_revision()


def check_schema(engine: Engine, settings: ArchiveSettings) -> None:
    """Raise `SchemaMismatch` unless the database is at this code's revision (one line each way)."""
    with reporting(settings):
        revision = current_revision(engine)
    _refuse_newer(revision, settings)
    head = head_revision()
    if revision is None:
        raise SchemaMismatch(
            f"the archive database {settings.shown_url} has no failed_jobs schema yet: run `rq-dlq archive init`"
        )
    if revision != head:
        raise SchemaMismatch(
            f"the archive database {settings.shown_url} is at schema {revision}, older than this code's "
            f"{head}: run `rq-dlq archive init` to upgrade it"
        )


def _refuse_newer(revision: str | None, settings: ArchiveSettings) -> None:
    if revision is not None and not _known(revision):
        raise SchemaMismatch(
            f"the archive database {settings.shown_url} is at schema {revision}, newer than this code's "
            f"{head_revision()}: upgrade rq-dead-letter here (nothing was changed)"
        )


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory(str(MIGRATIONS)).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
        return False
