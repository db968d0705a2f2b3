"""The durable failure archive: every dead-lettering as a row of a SQL table `failed_jobs`.

The DLQ's write scripts append events to a Redis stream in the round trips they already make
(`storage/lua/prelude.lua` archive_event); the archiver (`rq-dlq archive run`) turns them into rows.
Modules: `settings` (ARCHIVE_*, pure), `outcomes` (the outcome names, pure), `schema` (the table),
`database` (engine, schema version), `rows` (events to rows), `store` (idempotent upserts, the expiry
sweep and retention), `events` (the stream), `archiver` (the consumer), `history` (queries), `service`
(what the CLI and the dashboard share). `settings`, `outcomes` and `events` need no SQLAlchemy and may
be imported by worker code; the rest needs it.
"""
