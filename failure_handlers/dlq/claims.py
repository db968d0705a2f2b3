"""The claim protocol that makes requeue exactly-once, over its own key `<prefix>claims`.

A requeue first claims its jobs (`claim.lua`): the DLQ entry leaves every index and the job leaves
RQ's FailedJobRegistry in one atomic step, so of two operators requeueing one job only one gets
it. The winner enqueues the job and deletes the entry in one MULTI (`finish`); a requeue that
cannot go ahead gives the entry back (`release`), and one that died half-way leaves a claim that
`release_stale` returns to the DLQ after `CLAIM_STALE_SECONDS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from redis import Redis
from redis.client import Pipeline

from failure_handlers.dlq.actor import actor
from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.text import member_list
from failure_handlers.storage import scripts
from failure_handlers.storage.keys import DlqKeys
from failure_handlers.storage.scripts import ScriptArg

CLAIMED_ENTRY = 1
CLAIMED_REGISTRY = 2
CLAIM_STALE_SECONDS = 300  # a claim older than this is a requeue that died half-way


class DlqClaims:
    """Claims on one DLQ's entries (`dlq.claims`): its connection, keys, entry TTL and archive bound,
    and `read_entries` (`DeadLetterQueue.get_many`) to find what a stale claim gives back."""

    def __init__(
        self,
        connection: Redis,
        keys: DlqKeys,
        ttl_seconds: int,
        archive_maxlen: int,
        read_entries: Callable[[Sequence[str]], list[DeadLetterEntry | None]],
    ) -> None:
        self.connection = connection
        self.keys = keys
        self.ttl_seconds = ttl_seconds
        self.archive_maxlen = archive_maxlen
        self.read_entries = read_entries
        self.key = keys.claims

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
        head: list[ScriptArg] = [self.keys.prefix, time.time(), self.archive_maxlen, by or actor("requeue")]
        codes = scripts.CLAIM.run(self.connection, [*head, *pairs])
        return [int(code) for code in codes]

    def release(self, entries: Sequence[DeadLetterEntry]) -> int:
        """Give claimed entries back to the DLQ unchanged (requeue could not go ahead)."""
        if not entries:
            return 0
        pairs = [item for entry in entries for item in (entry.job_id, entry.failed_at_epoch)]
        head: list[ScriptArg] = [self.keys.prefix, self.ttl_seconds, self.archive_maxlen, time.time()]
        return int(scripts.RELEASE.run(self.connection, [*head, *pairs]))

    def finish(self, job_id: str, pipeline: Pipeline) -> None:
        """In the requeue's own transaction: the claimed entry is gone for good."""
        self.finish_many([job_id], pipeline)

    def finish_many(self, job_ids: Sequence[str], pipeline: Pipeline) -> None:
        """`finish` for a batch: three commands, whatever its size (the third: the search index
        indexes a job again if it comes back with a new entry)."""
        if job_ids:
            pipeline.delete(*(self.keys.entry(job_id) for job_id in job_ids))
            pipeline.zrem(self.key, *job_ids)
            pipeline.srem(self.keys.search_indexed, *job_ids)

    def release_stale(self, older_than: float = CLAIM_STALE_SECONDS) -> int:
        """Claims left by a requeue that died before it enqueued: their entries go back to the DLQ."""
        connection = self.connection
        stale = member_list(connection.zrangebyscore(self.key, "-inf", time.time() - older_than))
        entries = [entry for entry in self.read_entries(stale) if entry is not None]
        released = self.release(entries)
        gone = set(stale) - {entry.job_id for entry in entries}
        if gone:
            connection.zrem(self.key, *gone)
        return released
