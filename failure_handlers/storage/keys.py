"""Every Redis key this project owns, in one place.

How an entry leaves the DLQ, one word each (the archive's `outcome` column uses the same words):
- deleted: taken out by an operator, and its RQ job with it unless `--keep-job` (`DeadLetterQueue.delete`,
  `operations/delete.py`; `rq-dlq delete`, the dashboard, the API).
- purged: deleted by `rq-dlq purge` (every entry matching filters); the same deletion, recorded apart.
- dismissed: deleted while its RQ job is kept as failed (`--keep-job`); listed in `<prefix>dismissed`
  so that the reconciler does not bring the entry back.
- requeued: its job went back to its queue. trimmed: dropped by the add script past DLQ_MAX_ENTRIES
  (counted in `<prefix>dropped`). expired: its TTL (DLQ_TTL_SECONDS) passed.
Pruning is housekeeping, not a removal: index members whose entry has already expired are taken out.

Under `DLQ_PREFIX` (default `rq:dlq:`):
- `<prefix>entry:<job_id>`     hash: one dead job (fields: `entry.DeadLetterEntry`)
- `<prefix>index`              sorted set: job ids scored by failure time (epoch seconds); no TTL (trimmed by the
                               add script: by count on every add, by age in its sweep)
- `<prefix>by:<kind>:<value>`  sorted sets: the same, per queue / func / exc / group value; no TTL (the sweep
                               removes aged members, and the whole key once the value is no longer seen)
- `<prefix>values`             sorted set: the values seen, member `<kind>:<value>`, scored by last failure time
- `<prefix>groups`             hash: fingerprint -> JSON sample (exc_type, message, func_name, origin), written
                               when the group first appears, removed with it by the sweep
- `<prefix>swept`              string (with a TTL): the add script's sweep by age ran less than SWEEP_EVERY ago
- `<prefix>names:<kind>`       sorted sets of the layout written before 2026-11 (values per kind, with a TTL
                               like every index key then): read until the sweep merged them into `values`
- `<prefix>dropped`            counter: entries trimmed because DLQ_MAX_ENTRIES was passed
- `<prefix>claims`             sorted set: job ids being requeued right now, scored by claim time
- `<prefix>dismissed`          sorted set: job ids deleted from the DLQ but kept in RQ (`delete --keep-job`),
                               scored by deletion time; the reconciler does not bring them back
- `<prefix>queues:paused`      hash: queue name -> JSON {reason, paused_at, by}: the queues an operator paused
                               (`rq-dlq pause`; `queues/pause.py`); our worker class (`queues/worker.py`) takes
                               no job from them. Written by operators only; read by workers and the exporter
- `<prefix>search:text`         list: the search index's segments, the lowercased message and arguments of up to
                               1,000 entries each (`dlq/search_index.py`); written by the reconciler only
- `<prefix>search:indexed`      set: the job ids in `search:text` (a requeue and a delete take theirs out)
- `<prefix>web:selection:<token>` string (JSON, with a TTL): the job ids a dashboard bulk action
                               was confirmed for (`web/selections.py`); taken with GETDEL when it runs
- `<prefix>bulk:run:<id>`       hash: a dashboard bulk run in the background (`operations/bulk_runs.py`): what,
                               who, the counts so far, its state, who asked to cancel it; kept a day after its
                               last write
- `<prefix>bulk:lease:<id>`     string (SET PX): the process running that bulk run, renewed after every batch;
                               gone while the run says `running`: its process died (read as `interrupted`)
- `<prefix>bulk:runs`           sorted set: the recent bulk runs' ids, scored by start time (the newest 100)
- `<prefix>reconciler:last_pass` hash: when the reconciler last finished a pass, and what it did
                               (`operations/reconciler_health.py`), for the dashboard's health panel
- `<prefix>metrics:<metric>`   hash: a Prometheus counter, one field per label-value series (values joined
                               by METRIC_LABEL_SEPARATOR); written by the failure handler's own round trips
                               (`metrics/counters.py`, `lua/prelude.lua` count_all); never expires
- `<prefix>metrics:values:<label>` set: the values admitted for a label (at most METRICS_MAX_LABEL_VALUES;
                               the rest are counted as `other`)
- `<prefix>alerts:claim:<rule>:<subject>` string (SET NX EX): who sent a notification in this cool-down
- `<prefix>alerts:active:<rule>:<subject>` string: a size/age alert was sent and has not resolved yet
- `<prefix>alerts:groups_seen` sorted set: failure groups already announced (`new_group`), scored by then
- `<prefix>alerts:outbox`      sorted set: pending deliveries (id scored by next attempt time)
- `<prefix>alerts:delivery:<id>` string: one pending delivery (JSON: channel, message, attempts, last error)
- `<prefix>alerts:lease:<id>`  string (SET NX EX): the process delivering it right now
- `<prefix>archive:events`      stream: the failure archive's events (a dead-lettering, an outcome), appended by
                               the DLQ's write scripts when ARCHIVE_URL is set, bounded by ARCHIVE_STREAM_MAXLEN;
                               read by the consumer group ARCHIVE_GROUP (`archive/events.py`)
- `<prefix>audit`               stream: the audit log of operator actions (`audit/log.py`; written by
                               `lua/audit.lua`), trimmed to AUDIT_MAX_ENTRIES; each entry's `record` is JSON
- `<prefix>archive:seq`         counter: events appended so far (each event carries its number)
- `<prefix>archive:state`       hash: the archiver's progress: delivered_seq, lost (events trimmed unread),
                               last_batch_at, last_batch_rows, last_sweep_at, last_error
The alert keys are written by `lua/alert_claim.lua` (claim and outbox in one step) and `alerts/outbox.py`.
Circuit breakers and idempotent tasks (written only by `lua/circuit.lua` and `lua/idempotency.lua`):
- `<prefix>circuit:state:<name>` hash: one circuit's state (state, open_until, probe, probe_until, changed_at,
                               threshold, window, reset); absent = closed; expires CIRCUIT_RETENTION_SECONDS
                               after its last change
- `<prefix>circuit:failures:<name>` sorted set: the failures in its window (member time:token, scored by time)
- `<prefix>circuits`           sorted set: every circuit name with a state, scored by its last change
                               (what `rq-dlq circuits` lists, without SCAN)
- `<prefix>idem:done:<func>:<key>` string (JSON: result, job_id, done_at; with the task's TTL): this
                               idempotency key of this task succeeded
- `<prefix>idem:lock:<func>:<key>` string (SET NX PX): the job running that key right now
RQ's own keys (`rq:job:*`, `rq:registry:*`) are reached through RQ's classes, never built here.
The Lua scripts in `lua/` build the same names from the prefix (`lua/prelude.lua`); keep them in step.

Names we write into RQ's job hashes, as `job.meta` keys, are declared below too (`META_*`).
"""

from __future__ import annotations

from dataclasses import dataclass

# job.meta keys (RQ saves meta with the job; docs/rq-behaviour.md#the-failure-callback says when a save is lost).
META_FAILURES = "failures"  # list: one record per failed run (failure_record.attempt_record)
META_FAILURES_DROPPED = "failures_dropped"  # records dropped past the newest MAX_RECORDED_FAILURES (dlq/entry.py)
META_MAX_RETRIES = "max_retries"  # the retry budget of the current run series (RQ keeps only retries_left)
META_REQUEUE_COUNT = "requeue_count"  # times requeued by our requeue
META_REQUEUED_AT = "requeued_at"  # UTC ISO time of the last requeue
# --- Retry policy: the plan made at enqueue (integration/queue.py), read by the handler ---
META_RETRY_DELAYS = "retry_delays"  # list: planned seconds before retry 1..max (the ORIGINAL schedule)
META_RETRY_JITTER = "retry_jitter"  # text: none, full, equal or a fraction (retry/backoff.py Jitter.text)
META_RETRY_BACKOFF = "retry_backoff"  # text: how the delays were planned ("fixed", "exponential, base 30s, cap 600s")
# Each record in META_FAILURES of a retried run also has `retry_in` (the actual delay, seconds) and
# `retry_note` (how it was chosen: planned, jitter, Retry-After); `decided_by` names the rule that classified it.
META_IDEMPOTENCY_FORCE = "idempotency_force"  # `rq-dlq requeue --force`: run even if the key is done
# dict: this run is a replay with edited arguments (`rq-dlq requeue ID --args/--kwargs`, operations/replay.py):
# {"of_entry": job id, "failed_at": the entry's failure time, "archive_id", "edited": ["args"|"kwargs"],
#  "original_args"/"original_kwargs": the entry's JSON texts (redacted as stored), "at", "by"}
META_REPLAY = "replay"

# Prometheus counters kept in Redis (metrics/counters.py): metric -> its label names, in field order.
METRIC_LABELS = {
    "failures": ("queue", "func", "exc_type"),
    "retries": ("queue", "func"),
    "dead_lettered": ("queue", "func", "reason"),
    "requeued": ("queue",),
}
METRIC_LABEL_SEPARATOR = "\x1f"  # ASCII unit separator; label values are sanitised so they never contain it
OTHER_LABEL_VALUE = "other"

# Field of an entry hash holding its dead-lettering's id in the failure archive (only when ARCHIVE_URL is set).
ENTRY_ARCHIVE_ID = "archive_id"
ARCHIVE_GROUP = "archiver"  # the archiver's consumer group on <prefix>archive:events

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
        """The values seen per kind in the layout written before 2026-11 (see `values`)."""
        return f"{self.prefix}names:{kind}"

    @property
    def values(self) -> str:
        return f"{self.prefix}values"

    @property
    def swept(self) -> str:
        return f"{self.prefix}swept"

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

    @property
    def paused_queues(self) -> str:
        return f"{self.prefix}queues:paused"

    @property
    def search_text(self) -> str:
        return f"{self.prefix}search:text"

    @property
    def search_indexed(self) -> str:
        return f"{self.prefix}search:indexed"

    def selection(self, token: str) -> str:
        return f"{self.prefix}web:selection:{token}"

    def bulk_run(self, run_id: str) -> str:
        return f"{self.prefix}bulk:run:{run_id}"

    def bulk_lease(self, run_id: str) -> str:
        return f"{self.prefix}bulk:lease:{run_id}"

    @property
    def bulk_runs(self) -> str:
        return f"{self.prefix}bulk:runs"

    @property
    def reconciler_last_pass(self) -> str:
        return f"{self.prefix}reconciler:last_pass"

    def metric(self, name: str) -> str:
        return f"{self.prefix}metrics:{name}"

    def metric_values(self, label: str) -> str:
        return f"{self.prefix}metrics:values:{label}"

    def alert_claim(self, rule: str, subject: str) -> str:
        return f"{self.prefix}alerts:claim:{rule}:{subject}"

    def alert_active(self, rule: str, subject: str) -> str:
        return f"{self.prefix}alerts:active:{rule}:{subject}"

    @property
    def alert_groups_seen(self) -> str:
        return f"{self.prefix}alerts:groups_seen"

    @property
    def alert_outbox(self) -> str:
        return f"{self.prefix}alerts:outbox"

    def alert_delivery(self, delivery_id: str) -> str:
        return f"{self.prefix}alerts:delivery:{delivery_id}"

    def alert_lease(self, delivery_id: str) -> str:
        return f"{self.prefix}alerts:lease:{delivery_id}"

    @property
    def audit(self) -> str:
        return f"{self.prefix}audit"

    # -- the failure archive (archive/events.py) --

    @property
    def archive_events(self) -> str:
        return f"{self.prefix}archive:events"

    @property
    def archive_seq(self) -> str:
        return f"{self.prefix}archive:seq"

    @property
    def archive_state(self) -> str:
        return f"{self.prefix}archive:state"

    # -- circuit breakers and idempotent tasks ------------------------------------------------

    def circuit(self, name: str) -> str:
        return f"{self.prefix}circuit:state:{name}"

    def circuit_failures(self, name: str) -> str:
        return f"{self.prefix}circuit:failures:{name}"

    @property
    def circuits(self) -> str:
        return f"{self.prefix}circuits"

    def idempotency_done(self, func: str, key: str) -> str:
        return f"{self.prefix}idem:done:{func}:{key}"

    def idempotency_lock(self, func: str, key: str) -> str:
        return f"{self.prefix}idem:lock:{func}:{key}"
