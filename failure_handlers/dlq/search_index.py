"""The search index: `rq-dlq list --search` over 100,000 entries without reading 100,000 hashes.

What it holds (keys.py): `<prefix>search:text`, a list of segments, each the searched text of up
to 1,000 entries (`<job id> US <message> US <args> US <kwargs> RS`, lowercased; US and RS, the
ASCII unit and record separators, are spaces inside the text), and `<prefix>search:indexed`, the set
of the job ids written there. A search reads the segments in one round trip and finds the needle
in them (C speed: `str.find`), asks the server which index members are not indexed yet (`ZDIFF`),
and checks only those ids and the hits against their hashes: the answer is the scan's answer.

Who writes it: not the failure handler (its round trip stays as it is) but the reconciler
(`rq-dlq reconcile`, and every pass of `--watch`): `refresh` indexes what is not indexed yet, and
rebuilds the index when most of it is about entries that are gone. A requeue (`claims.finish_many`)
and a delete (`lua/delete.lua`) take their ids out of `search:indexed`, so a job that fails again is
indexed again with its new text.
An entry whose text changed while it stayed in the DLQ (a re-recording whose real cause replaced a
synthetic one, docs/dlq-contract.md#the-first-cause-wins) is found by its old text until the next
rebuild. A reader never writes: without a reconciler the index is empty and a search is a scan
(the note says so). Pure reads for `search`, so the viewer role can run it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import ResponseError

from failure_handlers.dlq.text import member_list, text
from failure_handlers.storage.keys import DlqKeys

SEGMENT = 1_000  # entries per segment (one RPUSH)
UNIT, RECORD = "\x1f", "\x1e"
_UNIT, _RECORD = UNIT.encode(), RECORD.encode()
SEARCHED_FIELDS = ("exc_message", "args", "kwargs")  # what `--search` looks in (DlqFilter.search)
REBUILD_ABOVE = 2.0  # indexed ids per entry in the DLQ above which `refresh` rebuilds from scratch
REBUILD_SLACK = 1_000


def searched_text(value: str) -> str:
    """A field as it is searched: lowercased, its separators made spaces (a needle holding a
    separator is answered by a scan)."""
    return value.lower().replace(UNIT, " ").replace(RECORD, " ")


@dataclass(frozen=True)
class Candidates:
    """What the index says for a needle: ids whose indexed text holds it, ids not indexed yet."""

    hits: set[str]
    unindexed: list[str]
    indexed: int  # index members the index answered for
    members: int  # index members in all

    @property
    def how(self) -> str:
        if not self.indexed:
            return f"searched by a scan of {self.members:,} entries (no search index yet: run rq-dlq reconcile)"
        tail = f"; {len(self.unindexed):,} not indexed yet were scanned" if self.unindexed else ""
        return f"searched by the search index ({self.indexed:,} entries){tail}"


class SearchIndex:
    def __init__(self, connection: Redis, keys: DlqKeys, ttl_seconds: int) -> None:
        self.connection = connection
        self.keys = keys
        self.ttl_seconds = ttl_seconds

    # -- reading (no write command: the viewer runs it) -------------------------------------------

    def candidates(self, needle: str) -> Candidates | None:
        """The ids to check for `needle` (lowercased), or None when only a scan can answer (a needle
        holding a separator, a server without ZDIFF)."""
        if UNIT in needle or RECORD in needle:
            return None
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.scard(self.keys.search_indexed)
            pipe.zcard(self.keys.index)
            pipe.lrange(self.keys.search_text, 0, -1)
            indexed, members, segments = pipe.execute()
        if not indexed:  # no index (no reconciler ran): the caller scans, without a ZDIFF of everything
            return Candidates(set(), [], 0, int(members))
        try:
            unindexed = self.connection.zdiff([self.keys.index, self.keys.search_indexed])
        except ResponseError:  # ZDIFF is Redis >= 6.2
            return None
        hits: set[str] = set()
        wanted = needle.encode()  # UTF-8 is self-synchronising: a byte match is a text match
        for segment in segments:
            hits.update(_hits(segment, wanted))
        tail = member_list(unindexed)
        return Candidates(hits, tail, max(0, int(members) - len(tail)), int(members))

    # -- writing (the reconciler) -------------------------------------------------------------------

    def refresh(self) -> int:
        """Index the entries not indexed yet (rebuilding when the index is mostly about entries that
        are gone); returns how many were indexed."""
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.scard(self.keys.search_indexed)
            pipe.zcard(self.keys.index)
            indexed, members = pipe.execute()
        if int(indexed) > REBUILD_ABOVE * int(members) + REBUILD_SLACK:
            self.connection.delete(self.keys.search_text, self.keys.search_indexed)
        missing = member_list(self.connection.zdiff([self.keys.index, self.keys.search_indexed]))
        written = 0
        for start in range(0, len(missing), SEGMENT):
            written += self._write(missing[start : start + SEGMENT])
        return written

    def _write(self, job_ids: Sequence[str]) -> int:
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hmget(self.keys.entry(job_id), *SEARCHED_FIELDS)
            rows = pipe.execute()
        records = []
        ids = []
        for job_id, row in zip(job_ids, rows, strict=True):
            if row[0] is None and row[1] is None and row[2] is None:
                continue  # gone since (or not an entry: nothing to find)
            fields = UNIT.join(searched_text(text(value)) for value in row)
            records.append(f"{job_id}{UNIT}{fields}{RECORD}")
            ids.append(job_id)
        if not ids:
            return 0
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.rpush(self.keys.search_text, "".join(records))
            pipe.sadd(self.keys.search_indexed, *ids)
            pipe.expire(self.keys.search_text, self.ttl_seconds)
            pipe.expire(self.keys.search_indexed, self.ttl_seconds)
            pipe.execute()
        return len(ids)


def _hits(segment: bytes, needle: bytes) -> set[str]:
    """The ids of the records of `segment` whose text holds `needle`."""
    found: set[str] = set()
    position = segment.find(needle)
    while position >= 0:
        start = segment.rfind(_RECORD, 0, position) + 1
        end = segment.find(_UNIT, start)
        if start <= position and end > start:
            found.add(segment[start:end].decode(errors="replace"))
        following = segment.find(_RECORD, position)
        if following < 0:
            break
        position = segment.find(needle, following + 1)
    return found
