"""Every Redis key this project owns, in one place.

Under `DLQ_PREFIX` (default `rq:dlq:`):
- `<prefix>entry:<job_id>`     hash: one dead job (fields: `dead_letter_entry.DeadLetterEntry`)
- `<prefix>index`              sorted set: job ids scored by failure time (epoch seconds)
- `<prefix>by:<kind>:<value>`  sorted sets: the same, per queue / func / exc / group value
- `<prefix>names:<kind>`       sorted sets: the values seen per kind, scored by last failure time
- `<prefix>groups`             hash: fingerprint -> JSON sample (exc_type, message, func_name, origin)
- `<prefix>dropped`            counter: entries trimmed because DLQ_MAX_ENTRIES was passed
- `<prefix>claims`             sorted set: job ids being requeued right now, scored by claim time
- `<prefix>dismissed`          sorted set: job ids deleted from the DLQ but kept in RQ (`delete --keep-job`),
                               scored by deletion time; the reconciler does not bring them back
RQ's own keys (`rq:job:*`, `rq:registry:*`) are reached through RQ's classes, never built here.
The Lua scripts in `dlq_scripts.py` build the same names from the prefix; keep them in step.
"""

from __future__ import annotations

from dataclasses import dataclass

# Secondary index kinds and the entry field each one indexes.
INDEXED_FIELDS = {"queue": "queue", "func": "func_name", "exc": "exc_type", "group": "fingerprint"}


@dataclass(frozen=True)
class DlqKeys:
    prefix: str

    def entry(self, job_id: str) -> str:
        return f"{self.prefix}entry:{job_id}"

    @property
    def index(self) -> str:
        return f"{self.prefix}index"

    def by(self, kind: str, value: str) -> str:
        return f"{self.prefix}by:{kind}:{value}"

    def names(self, kind: str) -> str:
        return f"{self.prefix}names:{kind}"

    @property
    def groups(self) -> str:
        return f"{self.prefix}groups"

    @property
    def dropped(self) -> str:
        return f"{self.prefix}dropped"

    @property
    def claims(self) -> str:
        return f"{self.prefix}claims"

    @property
    def dismissed(self) -> str:
        return f"{self.prefix}dismissed"
