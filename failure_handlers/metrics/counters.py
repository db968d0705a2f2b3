"""Prometheus counters kept in Redis, written inside round trips the failure handler already makes.

- a retried failure: the `count` script saves the job's meta (the HSET `job.save_meta()` sends) and
  increments them: one command instead of the HSET;
- a final failure: the `add` script increments them while it writes the DLQ entry (ARGV[10]);
- a reconciled entry: the same, with reason `reconciled`;
- a requeue: HINCRBY inside the requeue's own MULTI (`requeue_increments`).

Cardinality: each label admits at most `METRICS_MAX_LABEL_VALUES` distinct values (first come),
later ones are counted as `other`; each counter holds at most `METRICS_MAX_SERIES` series, later
ones go to the all-`other` series (at most M + 1 series). Values are sanitised (`label_value`): no control characters,
at most `MAX_LABEL_CHARS` characters.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence

from redis import Redis
from redis.client import Pipeline
from rq.job import Job

from failure_handlers.jobs.meta import serialized_meta
from failure_handlers.storage import scripts
from failure_handlers.storage.keys import METRIC_LABEL_SEPARATOR as SEP
from failure_handlers.storage.keys import METRIC_LABELS, OTHER_LABEL_VALUE, DlqKeys

MAX_LABEL_CHARS = 120
SPEC_CACHE_SIZE = 512  # (caps, queue, function, exception type, reason) combinations kept per process
UNKNOWN = "unknown"
NEW_ENTRY_ONLY = frozenset({"dead_lettered"})  # not counted again when the job's DLQ entry is replaced
REASONS = ("retries_exhausted", "permanent", "no_retries", "reconciled")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def label_value(text: object) -> str:
    """A label value safe for Redis fields and the exposition format: control characters become one
    space, at most MAX_LABEL_CHARS characters, never empty."""
    value = str(text) if text is not None else ""
    if not (value.isprintable() and len(value) <= MAX_LABEL_CHARS and value.strip() == value):
        value = _CONTROL.sub(" ", value).strip()[:MAX_LABEL_CHARS]
    return value or UNKNOWN


def spec(max_label_values: int, max_series: int, increments: Sequence[tuple[str, Sequence[object]]]) -> str:
    """The counter spec that `count_all` (lua/prelude.lua) applies: one +1 per (metric, values).

    Two parts, split at the first newline: what the usual case needs, readable without JSON (per
    increment `N metric US field`, N '1' for new_only else '0', increments apart by RS; label values
    hold no control characters), then the JSON of it all, decoded by the script only for a series it has not seen.
    """
    incr: list[list[object]] = []
    fast: list[str] = []
    for metric, values in increments:
        labels = METRIC_LABELS[metric]
        if len(values) != len(labels):
            raise ValueError(f"{metric} takes {len(labels)} label values, got {len(values)}")
        texts = [label_value(value) for value in values]
        new_only = metric in NEW_ENTRY_ONLY
        incr.append([metric, list(labels), texts, new_only])
        fast.append(("1" if new_only else "0") + SEP.join((metric, *texts)))
    head = "\x1e".join(fast)
    body = json.dumps({"cap": max_label_values, "series": max_series, "incr": incr}, ensure_ascii=False)
    return f"{head}\n{body}"


def failure_increments(
    queue: str, func: str, exc_type: str, dead_reason: str | None
) -> list[tuple[str, Sequence[object]]]:
    """A failed run: `failures`, plus `retries` (dead_reason None) or `dead_lettered`."""
    if dead_reason is not None and dead_reason not in REASONS:
        raise ValueError(f"unknown dead-letter reason {dead_reason!r}")
    increments: list[tuple[str, Sequence[object]]] = [("failures", (queue, func, exc_type))]
    if dead_reason is None:
        increments.append(("retries", (queue, func)))
    else:
        increments.append(("dead_lettered", (queue, func, dead_reason)))
    return increments


def failure_spec(
    max_label_values: int, max_series: int, queue: str, func: str, exc_type: str, dead_reason: str | None
) -> str:
    """`spec` of `failure_increments`, cached per process: a worker sees the same few queues, functions
    and exception types, and building the spec (label sanitising, JSON) cost ~35 µs of every failure's
    CPU. Keyed on every value the spec is built from, the settings' caps included: a change of either
    cap, or of any label, is another key. Labels longer than a label can be are not cached (a hostile
    job's huge name is not kept). A bad `dead_reason` raises (not cached)."""
    if max(len(queue), len(func), len(exc_type)) > MAX_LABEL_CHARS:
        return spec(max_label_values, max_series, failure_increments(queue, func, exc_type, dead_reason))
    return _cached_failure_spec(max_label_values, max_series, queue, func, exc_type, dead_reason)


@functools.lru_cache(maxsize=SPEC_CACHE_SIZE)
def _cached_failure_spec(
    max_label_values: int, max_series: int, queue: str, func: str, exc_type: str, dead_reason: str | None
) -> str:
    return spec(max_label_values, max_series, failure_increments(queue, func, exc_type, dead_reason))


def save_meta_and_count(connection: Redis, job: Job, prefix: str, counter_spec: str) -> None:
    """`job.save_meta()` and the counters in ONE command and round trip: the `count` script does the
    meta's HSET itself, then the counters (EVALSHA; EVAL once after a server restart)."""
    scripts.COUNT.run(connection, [prefix, counter_spec, job.key, serialized_meta(job)])


def requeue_label(connection: Redis, keys: DlqKeys, queues: Sequence[str], max_label_values: int) -> dict[str, str]:
    """The `queue` label each requeued queue is counted under (read before the requeue's MULTI)."""
    names = sorted({label_value(queue) for queue in queues})
    if not names:
        return {}
    with connection.pipeline(transaction=False) as pipe:
        pipe.smismember(keys.metric_values("queue"), names)
        pipe.scard(keys.metric_values("queue"))
        members, size = pipe.execute()
    labels = {}
    room = max_label_values - int(size)
    for name, member in zip(names, members, strict=True):
        if member:
            labels[name] = name
        elif room > 0:
            labels[name] = name
            room -= 1
        else:
            labels[name] = OTHER_LABEL_VALUE
    return {queue: labels[label_value(queue)] for queue in queues}


def queue_requeue_increments(pipe: Pipeline, keys: DlqKeys, requeued: Mapping[str, int]) -> None:
    """Count a batch's requeues on `pipe` (the requeue's MULTI): label -> jobs, one HINCRBY per label."""
    admitted = sorted(label for label in requeued if label != OTHER_LABEL_VALUE)
    if admitted:
        pipe.sadd(keys.metric_values("queue"), *admitted)
    for label, count in sorted(requeued.items()):
        pipe.hincrby(keys.metric("requeued"), label, count)


def read_counters(connection: Redis, keys: DlqKeys) -> dict[str, list[tuple[tuple[str, ...], int]]]:
    """Every counter: metric -> [(label values, count)] (one pipelined round trip)."""
    from failure_handlers.metrics.dlq_state import counter_rows

    with connection.pipeline(transaction=False) as pipe:
        for metric in METRIC_LABELS:
            pipe.hgetall(keys.metric(metric))
        replies = pipe.execute()
    return {
        metric: counter_rows(raw, len(labels))
        for (metric, labels), raw in zip(METRIC_LABELS.items(), replies, strict=True)
    }
