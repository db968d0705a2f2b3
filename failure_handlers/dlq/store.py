"""The dead-letter queue's storage: dead jobs in Redis hashes, indexed by failure time, queue,
function, exception type and failure group.

One class, used by the failure handler, the operator commands and the tests alike. Writes that
belong together (entry, indexes, TTLs, trimming by age and by count) run as one Lua script, one
round trip; reads of many entries are pipelined, one round trip per page. Statistics are in
`stats.py`, the requeue claim protocol in `claims.py` (`dlq.claims`).
"""

from __future__ import annotations

import builtins
import functools
import json
import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from redis import Redis
from redis.exceptions import NoScriptError, RedisError

from failure_handlers.archive.settings import ArchiveSettings
from failure_handlers.dlq.claims import DlqClaims
from failure_handlers.dlq.entry import FIELD_NAMES, DeadLetterEntry
from failure_handlers.dlq.filters import SEARCHED, DlqFilter
from failure_handlers.dlq.first_cause import merge_entries
from failure_handlers.dlq.search_index import SEARCHED_FIELDS, SearchIndex
from failure_handlers.dlq.seen import values_by_kind
from failure_handlers.dlq.settings import DEFAULT_MAX_ENTRIES, DEFAULT_WAIT_TIMEOUT_MS, DlqSettings
from failure_handlers.dlq.stats import DlqStats, dlq_stats
from failure_handlers.dlq.text import member_list, text
from failure_handlers.errors import DlqWriteConflict
from failure_handlers.jobs.meta import FinalMetaSave
from failure_handlers.storage import scripts
from failure_handlers.storage.keys import INDEXED_FIELDS, DlqKeys
from failure_handlers.storage.scripts import ScriptArg

SCAN_BATCH = 1_000
DELETES_PER_TRIP = 3  # delete scripts of SCAN_BATCH ids sent in one round trip (the server busy ~40 ms)
NOT_WRITTEN = -1  # add_many: the guard failed (the job left its failed registry)
CHANGED = -2  # add.lua: the stored entry is not the one the merge was made from
MERGE_TRIES = 10  # re-read and re-merge at most this often when concurrent writers race
_ENCODED_NAMES = {name: name.encode() for name in FIELD_NAMES}
_INDEXED_NAMES = tuple(INDEXED_FIELDS.values())  # queue, func_name, exc_type, fingerprint: ARGV[13..16]
_TEXT_JSON = json.JSONEncoder(ensure_ascii=False)  # built once: `json.dumps` with options builds one per call


@dataclass(frozen=True)
class Selection:
    """Ids chosen by a filter, and, for a search, how it was answered (for the operator's note)."""

    ids: list[str]
    how: str = ""


@dataclass(frozen=True)
class Written:
    """What one `add_replicated` did: old entries dropped to keep `max_entries`, and how many replicas
    acknowledged the write (None: the DLQ does not wait for replicas)."""

    dropped: int
    replicas: int | None = None
    wanted: int = 0
    wait_error: str = ""  # the WAIT itself failed (the entry is written)

    @property
    def short_of_replicas(self) -> bool:
        return self.replicas is not None and self.replicas < self.wanted


class DeadLetterQueue:
    """Add, get, list, count and delete dead jobs under one key prefix.

    Below `def list`, annotations spell `builtins.list`: in the class body `list` is that method.
    """

    def __init__(
        self,
        connection: Redis,
        prefix: str,
        ttl_seconds: int,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        archive_maxlen: int = 0,
        wait_replicas: int = 0,
        wait_timeout_ms: int = DEFAULT_WAIT_TIMEOUT_MS,
    ) -> None:
        self.connection = connection
        self.keys = DlqKeys(prefix)
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        # > 0: the write scripts also append the failure archive's events, in the same round trip
        # (stream bounded by this MAXLEN); 0: the archive is off (ARCHIVE_URL unset).
        self.archive_maxlen = archive_maxlen
        # > 0: `add_replicated` ends its round trip with WAIT (DLQ_WAIT_REPLICAS, DLQ_WAIT_TIMEOUT_MS)
        self.wait_replicas = wait_replicas
        self.wait_timeout_ms = wait_timeout_ms
        self._constants: tuple[tuple[str, int, int, int], tuple[bytes, bytes, bytes, bytes, bytes], int] | None = None

    # Built on first use, not by every constructor: the failure handler's DLQ only ever adds.
    @functools.cached_property
    def claims(self) -> DlqClaims:
        """The requeue claim protocol on this DLQ's entries (`claims.py`)."""
        return DlqClaims(self.connection, self.keys, self.ttl_seconds, self.archive_maxlen, self.get_many)

    @functools.cached_property
    def search_index(self) -> SearchIndex:
        """The index behind `--search` (`search_index.py`)."""
        return SearchIndex(self.connection, self.keys, self.ttl_seconds)

    @classmethod
    def from_settings(cls, connection: Redis, dlq: DlqSettings, archive: ArchiveSettings) -> DeadLetterQueue:
        """The DLQ as configured; with the archive on, its writes also append the archive's events."""
        return cls(
            connection,
            dlq.prefix,
            dlq.ttl_seconds,
            dlq.max_entries,
            archive_maxlen=archive.stream_bound,
            wait_replicas=dlq.wait_replicas,
            wait_timeout_ms=dlq.wait_timeout_ms,
        )

    # -- writing -------------------------------------------------------------------------------

    def add(self, entry: DeadLetterEntry, meta: FinalMetaSave | None = None, counts: str = "") -> int:
        """Store `entry`, index it, trim by age and count.

        A job that already has an entry keeps its first real cause: the two are merged
        (`recording.first_cause.merge_entries`) and written only if the stored entry did not change
        meanwhile, else merged again. Returns how many of the oldest entries were dropped to keep
        `max_entries` (also added to the `dropped` counter). Atomic, and one command: the script also
        saves the job's meta first when given `meta` (the failure handler's final failure). `counts`:
        a counter spec (`metrics.counters.spec`) the script applies in the same step.
        """
        return self.add_replicated(entry, meta, counts).dropped

    def add_replicated(self, entry: DeadLetterEntry, meta: FinalMetaSave | None = None, counts: str = "") -> Written:
        """`add`, then, with `wait_replicas` > 0, `WAIT wait_replicas wait_timeout_ms` in the same
        pipeline: the reply says how many replicas have the entry (and everything written before it on
        this connection). Fewer than asked is not an error: the entry is on the primary; the caller says so.

        A meta save that failed (the script's error reply, after it wrote the entry) is raised.
        """
        args = self._add_args(entry, counts=counts, expected="none", meta=meta)
        if not self.wait_replicas:  # one command, no pipeline: the common case costs the worker least
            dropped = int(scripts.ADD.run(self.connection, args))
            return Written(self._add_merged(entry, "", counts) if dropped == CHANGED else dropped)
        with self.connection.pipeline(transaction=False) as pipe:
            scripts.ADD.queue(pipe, args)
            pipe.wait(self.wait_replicas, self.wait_timeout_ms)
            reply, acknowledged = pipe.execute(raise_on_error=False)
        dropped = int(scripts.ADD.rerun_if_unknown(self.connection, reply, args))
        rewritten = isinstance(reply, NoScriptError) or dropped == CHANGED
        if dropped == CHANGED:  # the job has an entry: merged with it (the first cause wins) and written again
            dropped = self._add_merged(entry, "", counts)
        if rewritten:  # the WAIT ran before the entry was written (a re-sent script, a merge)
            acknowledged = self._wait()
        if isinstance(acknowledged, Exception):  # e.g. an ACL user without WAIT: the entry is written all the same
            return Written(dropped, 0, self.wait_replicas, f"{type(acknowledged).__name__}: {acknowledged}")
        return Written(dropped, int(acknowledged or 0), self.wait_replicas)

    def _wait(self) -> int | Exception:
        try:
            return int(self.connection.wait(self.wait_replicas, self.wait_timeout_ms))
        except RedisError as error:
            return error

    def add_many(
        self,
        entries: Iterable[DeadLetterEntry],
        batch: int = SCAN_BATCH,
        only_if_in: Sequence[str] = (),
        counts: Sequence[str] = (),
    ) -> list[int]:
        """`add` for many entries, `batch` scripts per pipelined round trip.

        `only_if_in[n]`, when given, names a sorted set (RQ's failed registry) that must still hold
        the n-th job at write time, else that entry is not written. Returns per entry the count of
        old entries dropped, or -1 if it was not written. `counts[n]`: the n-th entry's counter spec.
        An entry of a job that has one meanwhile is merged with it, as `add` does.
        """
        pending = list(entries)
        guards = list(only_if_in) or [""] * len(pending)
        specs = list(counts) or [""] * len(pending)
        results: list[int] = []
        for start in range(0, len(pending), batch):
            end = start + batch
            rows = list(zip(pending[start:end], guards[start:end], specs[start:end], strict=True))
            calls = [self._add_args(entry, guard, spec, expected="none") for entry, guard, spec in rows]
            with self.connection.pipeline(transaction=False) as pipe:
                for args in calls:
                    scripts.ADD.queue(pipe, args)
                replies = pipe.execute(raise_on_error=False)
            for (entry, guard, spec), reply, args in zip(rows, replies, calls, strict=True):
                result = int(scripts.ADD.rerun_if_unknown(self.connection, reply, args))
                results.append(self._add_merged(entry, guard, spec) if result == CHANGED else result)
        return results

    def _add_merged(self, entry: DeadLetterEntry, guard: str, counts: str) -> int:
        """Write `entry` merged with the job's stored entry, compare-and-set on its `revision`."""
        for _ in range(MERGE_TRIES):
            raw = self.connection.hgetall(self.keys.entry(entry.job_id))
            if raw:
                merged = merge_entries(DeadLetterEntry.from_hash(raw), entry)
                stored = {text(name): text(value) for name, value in raw.items()}
                expected = stored.get("revision") or "0"  # an entry written before `revision` existed
            else:
                merged, expected = entry, "none"
            args = self._add_args(merged, guard, counts, expected=expected)
            result = int(scripts.ADD.run(self.connection, args))
            if result != CHANGED:
                return result
        raise DlqWriteConflict(f"the DLQ entry of job {entry.job_id} kept changing during {MERGE_TRIES} writes")

    def _add_args(
        self,
        entry: DeadLetterEntry,
        guard: str = "",
        counts: str = "",
        expected: str = "",
        meta: FinalMetaSave | None = None,
    ) -> list[ScriptArg]:
        """The add script's ARGV (lua/add.lua): the entry's fields flat, name then value, so that the
        script needs no JSON decoding; the entry as JSON only for the archive's `dead` event."""
        fields = entry.to_hash()
        sample = _TEXT_JSON.encode(
            {
                "exc_type": fields["exc_type"],
                "func_name": fields["func_name"],
                "origin": fields["origin"],
                "message": fields["exc_message"][:300],
            }
        )
        failed_at = entry.failed_at_epoch
        (prefix, ttl, max_entries, archive_maxlen, sweep_every), sweep = self._constant_args()
        archived = _TEXT_JSON.encode(fields).encode() if self.archive_maxlen else b""
        # Every argument as bytes: redis-py packs bytes as they are (its encoder's first check), and
        # each str, int or float it encodes itself costs the worker ~1.8k more instructions (the final
        # failure's ~46 arguments are most of what it spends packing its one round trip). The indexed
        # fields are ARGV[13..16] already: the script stores them from there; ARGV[20..22] are the
        # job's meta save.
        args: list[ScriptArg] = [
            prefix,
            fields["job_id"].encode(),
            repr(failed_at).encode(),
            ttl,
            max_entries,
            repr(time.time()).encode(),
            sample.encode(),
            guard.encode(),
            counts.encode(),
            archive_maxlen,
            expected.encode(),
            archived,
            *(fields[name].encode() for name in _INDEXED_NAMES),
            b"%d" % math.ceil(failed_at + self.ttl_seconds),
            sweep_every,
            b"%d" % (math.ceil(failed_at / sweep) * sweep),
            *((meta.key.encode(), meta.meta, b"1" if meta.zero_retries_left else b"") if meta else (b"", b"", b"")),
        ]
        for name, value in entry.stored_fields().items():
            if name not in _INDEXED_NAMES:
                args.append(_ENCODED_NAMES.get(name) or name.encode())
                args.append(value.encode())
        return args

    def _constant_args(self) -> tuple[tuple[bytes, bytes, bytes, bytes, bytes], int]:
        """The add script's arguments that only the DLQ's settings decide, as bytes, and the sweep's
        interval (add.lua: SWEEP_EVERY); computed once while the settings stay the same (they are
        plain attributes: a caller may change them)."""
        settings = (self.keys.prefix, self.ttl_seconds, self.max_entries, self.archive_maxlen)
        if self._constants is None or self._constants[0] != settings:
            sweep = max(1, min(3600, int(self.ttl_seconds // 100)))
            encoded = (
                self.keys.prefix.encode(),
                b"%d" % self.ttl_seconds,
                b"%d" % self.max_entries,
                b"%d" % self.archive_maxlen,
                b"%d" % sweep,
            )
            self._constants = (settings, encoded, sweep)
        return self._constants[1], self._constants[2]

    def delete(
        self, job_ids: Iterable[str], outcome: str = "deleted", by: str = "", rq_keys: Sequence[str] = ()
    ) -> int:
        """Remove entries from the DLQ and every index; returns how many were indexed.

        With the archive on, each removed entry's row gets `outcome` (deleted, purged, requeued)
        and `by` (who or what did it) in the same script. `rq_keys`: RQ's key names split around
        the name (`operations.delete.rq_key_names`): each entry deleted also takes its RQ job out of
        its queue's failed registry and deletes the job's keys, in the same atomic step.
        """
        removed = 0
        head: list[ScriptArg] = [self.keys.prefix, self.archive_maxlen, outcome, by, time.time(), len(rq_keys)]
        head += rq_keys
        calls = [[*head, *chunk] for chunk in _chunks(list(job_ids), SCAN_BATCH)]
        # A few script calls per round trip: the server goes from one to the next without waiting for
        # this process to be scheduled again (on a busy machine, most of a sequential purge's wall time).
        for first in range(0, len(calls), DELETES_PER_TRIP):
            trip = calls[first : first + DELETES_PER_TRIP]
            with self.connection.pipeline(transaction=False) as pipe:
                for args in trip:
                    scripts.DELETE.queue(pipe, args)
                replies = pipe.execute(raise_on_error=False)
            for reply, args in zip(replies, trip, strict=True):
                removed += int(scripts.DELETE.rerun_if_unknown(self.connection, reply, args))
        return removed

    # -- reading ------------------------------------------------------------------------------

    def get(self, job_id: str) -> DeadLetterEntry | None:
        raw = self.connection.hgetall(self.keys.entry(job_id))
        return DeadLetterEntry.from_hash(raw) if raw else None

    def get_many(self, job_ids: Sequence[str]) -> list[DeadLetterEntry | None]:
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hgetall(self.keys.entry(job_id))
            rows = pipe.execute()
        return [DeadLetterEntry.from_hash(raw) if raw else None for raw in rows]

    def queues_of(self, job_ids: Sequence[str]) -> builtins.list[str]:
        """Each entry's `queue` field ('' when the entry is gone): one round trip, one field each."""
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.hget(self.keys.entry(job_id), "queue")
            return [text(queue) for queue in pipe.execute()]

    def list(self, offset: int = 0, limit: int = 50, filters: DlqFilter | None = None) -> list[DeadLetterEntry]:
        """Entries newest first, `limit` after skipping `offset` matches."""
        ids = self.select_ids(filters or DlqFilter(), newest_first=True, offset=offset, limit=limit)
        return [entry for entry in self.get_many(ids) if entry is not None]

    def iter_all(self, filters: DlqFilter | None = None, batch: int = SCAN_BATCH) -> Iterator[DeadLetterEntry]:
        """Every matching entry, newest first, `batch` per round trip."""
        ids = self.select_ids(filters or DlqFilter(), newest_first=True)
        for chunk in _chunks(ids, batch):
            yield from (entry for entry in self.get_many(chunk) if entry is not None)

    def count(self, filters: DlqFilter | None = None) -> int:
        filters = filters or DlqFilter()
        key, needs_check = self._plan(filters)
        if needs_check:
            return len(self.select_ids(filters))
        low, high = self._score_range(filters)
        return int(self.connection.zcount(key, low, high))

    def select_ids(
        self,
        filters: DlqFilter,
        newest_first: bool = False,
        offset: int = 0,
        limit: int | None = None,
        prune: bool = False,
    ) -> builtins.list[str]:
        """Ids of matching entries in failure order, skipping index members whose hash is gone.

        Reads never write (a read-only ACL user can run them): only a writer passes `prune`, which
        also removes those members from the walked index and the main one.
        """
        return self.select(filters, newest_first, offset, limit, prune).ids

    def select(
        self,
        filters: DlqFilter,
        newest_first: bool = False,
        offset: int = 0,
        limit: int | None = None,
        prune: bool = False,
    ) -> Selection:
        """`select_ids`, and how a search was answered (the search index, or a scan)."""
        found = self.search_index.candidates(filters.search.lower()) if filters.search else None
        if found is not None and found.indexed:
            end = None if limit is None else offset + limit
            ids = self._check_candidates(filters, found.hits.union(found.unindexed), newest_first, end)
            return Selection(ids[offset:end], found.how)
        how = (found.how if found is not None else "searched by a scan of every entry") if filters.search else ""
        return Selection(self._walk(filters, newest_first, offset, limit, prune), how)

    def _check_candidates(
        self, filters: DlqFilter, candidates: set[str], newest_first: bool, wanted: int | None
    ) -> builtins.list[str]:
        """The candidates that match `filters`, in failure order: scored first (one ZMSCORE), then
        checked against their hashes in that order, until `wanted` matched (None: all)."""
        key, _ = self._plan(filters)
        low, high = self._score_range(filters)
        top = float("inf") if high == "+inf" else float(high)
        ids = builtins.list(candidates)
        scored = [
            (score, job_id)
            for chunk in _chunks(ids, SCAN_BATCH * 10)
            for job_id, score in zip(chunk, self.connection.zmscore(key, builtins.list(chunk)), strict=True)
            if score is not None and low <= score <= top
        ]
        scored.sort(reverse=newest_first)
        check = [INDEXED_FIELDS[kind] for kind in filters.equalities()] + builtins.list(SEARCHED_FIELDS)
        matched: builtins.list[str] = []
        for chunk in _chunks([job_id for _, job_id in scored], SCAN_BATCH):
            for job_id, row in zip(chunk, self._hmget(chunk, check), strict=True):
                if row is not None and filters.matches(_values(filters, row)):
                    matched.append(job_id)
            if wanted is not None and len(matched) >= wanted:
                break
        return matched

    def _walk(
        self, filters: DlqFilter, newest_first: bool, offset: int, limit: int | None, prune: bool
    ) -> builtins.list[str]:
        key, needs_check = self._plan(filters)
        low, high = self._score_range(filters)
        check = [INDEXED_FIELDS[kind] for kind in filters.equalities()] if needs_check else []
        if filters.search:
            check.extend(SEARCHED_FIELDS)
        position, skip = (0, offset) if needs_check else (offset, 0)
        selected: list[str] = []
        while limit is None or len(selected) < limit:
            want = SCAN_BATCH if limit is None or needs_check else limit - len(selected)
            if newest_first:
                ids = member_list(self.connection.zrevrangebyscore(key, high, low, start=position, num=want))
            else:
                ids = member_list(self.connection.zrangebyscore(key, low, high, start=position, num=want))
            if not ids:
                break
            rows = self._hmget(ids, check)
            missing = [job_id for job_id, row in zip(ids, rows, strict=True) if row is None]
            if missing and prune:
                self._prune(key, missing)
                position -= len(missing)  # the walk's later members moved up
            position += len(ids)
            for job_id, row in zip(ids, rows, strict=True):
                if row is None or (needs_check and not filters.matches(_values(filters, row))):
                    continue
                if skip:
                    skip -= 1
                    continue
                selected.append(job_id)
            if len(ids) < want:
                break
        return selected if limit is None else selected[:limit]

    def members(self, filters: DlqFilter) -> builtins.list[str] | None:
        """Ids in the index a filter names, in failure order, without reading a hash: for a writer that
        deletes them anyway (`rq-dlq purge`: the delete script prunes a member whose hash is gone and
        does not count it). None when the filter needs each entry checked (`select_ids` then)."""
        key, needs_check = self._plan(filters)
        if needs_check:
            return None
        low, high = self._score_range(filters)
        return member_list(self.connection.zrangebyscore(key, low, high))

    def dangling(self, newest: int) -> builtins.list[str]:
        """Members of the newest `newest` of the main index whose entry hash is gone (expired with
        the member left behind, deleted by hand, evicted): reads skip them, writers prune them."""
        ids = member_list(self.connection.zrevrange(self.keys.index, 0, newest - 1))
        return [job_id for job_id, row in zip(ids, self._hmget(ids, ()), strict=True) if row is None]

    def absent(self, job_ids: Sequence[str]) -> builtins.list[tuple[str, float | None]]:
        """The ids without an entry, each with when it was dismissed (`delete --keep-job`) or None.

        One round trip, and a second one only when some are absent (the usual answer is none)."""
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.exists(self.keys.entry(job_id))
            found = pipe.execute()
        absent = [job_id for job_id, exists in zip(job_ids, found, strict=True) if not exists]
        if not absent:
            return []
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in absent:
                pipe.zscore(self.keys.dismissed, job_id)
            dismissed = pipe.execute()
        return list(zip(absent, dismissed, strict=True))

    def dismiss(self, job_ids: Sequence[str]) -> None:
        """Remember these jobs as dismissed: their entries deleted on purpose while RQ keeps the jobs as
        failed (`delete --keep-job`), so the reconciler does not bring the entries back."""
        if job_ids:
            now = time.time()
            self.connection.zadd(self.keys.dismissed, dict.fromkeys(job_ids, now))

    def dismissed_ids(self) -> builtins.list[str]:
        return member_list(self.connection.zrange(self.keys.dismissed, 0, -1))

    def forget_dismissed(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            self.connection.zrem(self.keys.dismissed, *job_ids)

    def oldest_if_full(self) -> float | None:
        """The oldest entry's failure time when the DLQ holds `max_entries` (older adds are trimmed)."""
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.zcard(self.keys.index)
            pipe.zrange(self.keys.index, 0, 0, withscores=True)
            size, oldest = pipe.execute()
        return oldest[0][1] if size >= self.max_entries and oldest else None

    def known_values(self, kind: str) -> builtins.list[str]:
        """Values seen for an index kind (queue, func, exc, group), most recent first."""
        return values_by_kind(self.connection, self.keys, (kind,))[kind]

    def dropped(self) -> int:
        return int(self.connection.get(self.keys.dropped) or 0)

    def stats(self, top_groups: int = 10) -> DlqStats:
        """Totals, ages, counts per queue/function/exception/group: a few pipelined round trips."""
        return dlq_stats(self.connection, self.keys, self.ttl_seconds, top_groups)

    # -- internals ----------------------------------------------------------------------------

    def _plan(self, filters: DlqFilter) -> tuple[str, bool]:
        """The index to walk (the smallest one a filter names) and whether rows need checking."""
        equalities = filters.equalities()
        if not equalities:
            return self.keys.index, bool(filters.search)
        keys = [self.keys.by(kind, value) for kind, value in equalities.items()]
        if len(keys) == 1:
            return keys[0], bool(filters.search)
        with self.connection.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.zcard(key)
            sizes = pipe.execute()
        return min(zip(sizes, keys, strict=True))[1], True

    def _score_range(self, filters: DlqFilter) -> tuple[float, float | str]:
        low = time.time() - self.ttl_seconds
        if filters.since is not None:
            low = max(low, filters.since)
        return low, filters.until if filters.until is not None else "+inf"

    def _hmget(self, ids: Sequence[str], names: Sequence[str]) -> builtins.list[builtins.list[bytes | None] | None]:
        """Per id: the named fields, or None if the entry hash does not exist (expired, deleted)."""
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.exists(self.keys.entry(job_id))
                if names:
                    pipe.hmget(self.keys.entry(job_id), *names)
            replies = pipe.execute()
        step = 2 if names else 1
        return [(replies[n + 1] if names else []) if replies[n] else None for n in range(0, len(replies), step)]

    def _prune(self, key: str, missing: Sequence[str]) -> None:
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.zrem(key, *missing)
            pipe.zrem(self.keys.index, *missing)
            pipe.execute()


def _values(filters: DlqFilter, row: list[bytes | None]) -> dict[str, str]:
    """Map an HMGET row (indexed fields in filter order, then the message if searched) to filter values."""
    texts = [text(value) for value in row]
    values = dict(zip(filters.equalities(), texts, strict=False))
    if filters.search:
        values.update(zip(SEARCHED, texts[-len(SEARCHED_FIELDS) :], strict=True))
    return values


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
