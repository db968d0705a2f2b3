"""Alembic's environment for the failure archive: runs on the connection `database.py` passes in.

`rq-dlq archive init` runs the migrations (online only). A schema change is a new revision file
in `versions/`, written like `0001_failed_jobs.py`, with `schema.py` changed to match.
"""

from __future__ import annotations

from alembic import context

from failure_handlers.archive.schema import metadata

VERSION_TABLE = "rq_dlq_archive_version"  # not `alembic_version`: the database may be shared with an app's own

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
