"""The claim protocol that makes requeue exactly-once, over its own key `<prefix>claims`.

A requeue first claims its jobs (`claim.lua`): the DLQ entry leaves every index and the job leaves
RQ's FailedJobRegistry in one atomic step, so of two operators requeueing one job only one gets
it. The winner enqueues the job and deletes the entry in one MULTI (`finish`); a requeue that
cannot go ahead gives the entry back (`release`), and one that died half-way leaves a claim that
`release_stale` returns to the DLQ after `CLAIM_STALE_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from redis.client import Pipeline

from failure_handlers.archive.actor import actor
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.text import text_list
from failure_handlers.storage import scripts

if TYPE_CHECKING:
    from failure_handlers.dlq.store import DeadLetterQueue

CLAIMED_ENTRY = 1
CLAIMED_REGISTRY = 2
CLAIM_STALE_SECONDS = 300  # a claim older than this is a requeue that died half-way


class DlqClaims:
    """Claims on one DLQ's entries (`dlq.claims`)."""

    def __init__(self, dlq: DeadLetterQueue) -> None:
        self.dlq = dlq
        self.key = dlq.keys.claims

    def claim(self, jobs: Sequence[tuple[str, str]], by: str | None = None) -> list[int]:
        """Atomically take `(job_id, failed_registry_key)` pairs for requeueing.

        Per job a bit set: `CLAIMED_ENTRY` if its DLQ entry is now ours (out of every index, listed
        in claims), `CLAIMED_REGISTRY` if we took it out of RQ's failed registry; 0 if someone
        else has it. Of concurrent claimers of one job, exactly one gets a non-zero code. With the
        archive on, a claimed entry's row becomes `requeued` by `by` (`release` makes it `open` again).
        """
        if not jobs:
            return []
        pairs = [item for pair in jobs for item in pair]
        head = [self.dlq.keys.prefix, time.time(), self.dlq.archive_maxlen, by or actor("requeue")]
        codes = scripts.CLAIM.run(self.dlq.connection, [*head, *pairs])
        return [int(code) for code in codes]

    def release(self, entries: Sequence[DeadLetterEntry]) -> int:
        """Give claimed entries back to the DLQ unchanged (requeue could not go ahead)."""
        if not entries:
            return 0
        pairs = [item for entry in entries for item in (entry.job_id, entry.failed_at_epoch)]
        head = [self.dlq.keys.prefix, self.dlq.ttl_seconds, self.dlq.archive_maxlen, time.time()]
        return int(scripts.RELEASE.run(self.dlq.connection, [*head, *pairs]))

    def finish(self, job_id: str, pipeline: Pipeline) -> None:
        """In the requeue's own transaction: the claimed entry is gone for good."""
        pipeline.delete(self.dlq.keys.entry(job_id))
        pipeline.zrem(self.key, job_id)

    def release_stale(self, older_than: float = CLAIM_STALE_SECONDS) -> int:
        """Claims left by a requeue that died before it enqueued: their entries go back to the DLQ."""
        connection = self.dlq.connection
        stale = text_list(connection.zrangebyscore(self.key, "-inf", time.time() - older_than))
        entries = [entry for entry in self.dlq.get_many(stale) if entry is not None]
        released = self.release(entries)
        gone = set(stale) - {entry.job_id for entry in entries}
        if gone:
            connection.zrem(self.key, *gone)
        return released
