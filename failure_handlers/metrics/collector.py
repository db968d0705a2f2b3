"""A prometheus_client collector that reads Redis at scrape time: the DLQ, our counters, RQ's state.

Metric names and labels are documented in the README ("Metrics"). Label values are sanitised
(`counters.label_value`) and bounded: counters by the write-time caps (`counters.py`), the DLQ's
queues and RQ's queues at `max_label_values` (the rest summed as `other`), groups at `top_groups`.
When Redis cannot be read, the scrape still answers: `rq_dlq_up 0` and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from loguru import logger
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError

from failure_handlers.dlq.settings import DlqSettings
from failure_handlers.dlq.text import text
from failure_handlers.metrics.counters import label_value
from failure_handlers.metrics.dlq_state import DlqState, read_dlq_state
from failure_handlers.metrics.rq_state import RqState, read_rq_state
from failure_handlers.metrics.settings import MetricsSettings
from failure_handlers.storage.keys import OTHER_LABEL_VALUE, DlqKeys

Metric = GaugeMetricFamily | CounterMetricFamily

COUNTER_HELP = {
    "failures": ("rq_job_failures", "Failed runs of RQ jobs (every attempt)", ["queue", "func", "exc_type"]),
    "retries": ("rq_job_retries", "Failed runs that RQ will retry", ["queue", "func"]),
    "dead_lettered": ("rq_jobs_dead_lettered", "Jobs written to the dead-letter queue", ["queue", "func", "reason"]),
    "requeued": (
        "rq_jobs_requeued",
        "Dead jobs requeued: by rq-dlq requeue, or live again by another tool or RQ (the reconciler)",
        ["queue"],
    ),
}


class DlqCollector(Collector):
    """Everything `/metrics` shows, read from Redis on each scrape (a few pipelined round trips)."""

    def __init__(self, connection: Redis, dlq: DlqSettings, metrics: MetricsSettings) -> None:
        self.connection = connection
        self.dlq = dlq
        self.metrics = metrics
        self.keys = DlqKeys(dlq.prefix)

    def describe(self) -> Iterable[Metric]:
        return []  # no read at registration time: metrics are known only at scrape time

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        try:
            dlq = read_dlq_state(self.connection, self.keys, self.dlq.ttl_seconds, self.metrics.top_groups)
            rq = read_rq_state(self.connection)
            paused = set(self.connection.hkeys(self.keys.paused_queues))
        except RedisError as error:
            logger.error("metrics: cannot read Redis: {}", error)
            yield _gauge("rq_dlq_up", "1 if the last scrape could read Redis", value=0)
            return
        yield _gauge("rq_dlq_up", "1 if the last scrape could read Redis", value=1)
        yield from self._dlq_metrics(dlq, time.time())
        yield from self._counter_metrics(dlq)
        yield from self._rq_metrics(rq)
        yield self._paused_metric(rq, {text(name) for name in paused})
        yield _gauge(
            "rq_dlq_scrape_duration_seconds",
            "Time this scrape spent reading Redis",
            value=time.perf_counter() - started,
        )

    def _dlq_metrics(self, dlq: DlqState, now: float) -> Iterator[Metric]:
        entries = GaugeMetricFamily("rq_dlq_entries", "Entries in the dead-letter queue", labels=["queue"])
        for queue, count in self._bounded(dlq.by_queue).items():
            entries.add_metric([queue], count)
        yield entries
        yield _gauge("rq_dlq_size", "Entries in the dead-letter queue, all queues", value=dlq.total)
        groups = GaugeMetricFamily(
            "rq_dlq_group_entries",
            f"Entries of the {self.metrics.top_groups} largest failure groups",
            labels=["fingerprint", "exc_type", "func"],
        )
        for group in dlq.groups:
            groups.add_metric(
                [label_value(group.fingerprint), label_value(group.exc_type), label_value(group.func_name)], group.count
            )
        yield groups
        yield _gauge("rq_dlq_groups", "Failure groups with entries in the dead-letter queue", value=dlq.group_count)
        age = now - dlq.oldest if dlq.oldest is not None else 0.0
        yield _gauge("rq_dlq_oldest_entry_age_seconds", "Age of the oldest entry (0 when empty)", value=max(0.0, age))
        dropped = CounterMetricFamily("rq_dlq_dropped", "Oldest entries dropped to keep DLQ_MAX_ENTRIES")
        dropped.add_metric([], dlq.dropped)
        yield dropped
        yield _gauge(
            "rq_dlq_alert_deliveries_pending",
            "Alert notifications not delivered yet (retried)",
            value=dlq.pending_deliveries,
        )

    def _counter_metrics(self, dlq: DlqState) -> Iterator[Metric]:
        for metric, (name, help_text, labels) in COUNTER_HELP.items():
            family = CounterMetricFamily(name, help_text, labels=labels)
            for values, count in dlq.counters.get(metric, []):
                family.add_metric([label_value(value) for value in values], count)
            yield family

    def _rq_metrics(self, rq: RqState) -> Iterator[Metric]:
        jobs = GaugeMetricFamily("rq_jobs", "RQ jobs by queue and status", labels=["queue", "status"])
        per_status: dict[str, dict[str, int]] = {}
        for queue, statuses in rq.jobs.items():
            for status, count in statuses.items():
                per_status.setdefault(status, {})[queue] = count
        for status, queues in per_status.items():
            for queue, count in self._bounded(queues).items():
                jobs.add_metric([queue, status], count)
        yield jobs
        workers = GaugeMetricFamily("rq_workers", "RQ workers", labels=["name", "queues", "state"])
        success = CounterMetricFamily("rq_workers_success", "Jobs a worker finished", labels=["name", "queues"])
        failed = CounterMetricFamily("rq_workers_failed", "Jobs a worker failed", labels=["name", "queues"])
        working = CounterMetricFamily(
            "rq_workers_working_time", "Seconds a worker spent running jobs", labels=["name", "queues"]
        )
        for worker in rq.workers:
            worker_name, worker_queues = label_value(worker.name), label_value(worker.queues)
            workers.add_metric([worker_name, worker_queues, label_value(worker.state)], 1)
            success.add_metric([worker_name, worker_queues], worker.successful)
            failed.add_metric([worker_name, worker_queues], worker.failed)
            working.add_metric([worker_name, worker_queues], worker.working_seconds)
        yield from (workers, success, failed, working)

    def _paused_metric(self, rq: RqState, paused: set[str]) -> Metric:
        """`rq_queue_paused{queue}`: 1 while `rq-dlq pause` holds the queue (queues/pause.py), else 0;
        paused queues first, at most `max_label_values` queues."""
        family = GaugeMetricFamily("rq_queue_paused", "1 if the queue is paused (rq-dlq pause)", labels=["queue"])
        names = sorted(paused) + sorted(set(rq.jobs) - paused)
        for queue in names[: self.metrics.max_label_values]:
            family.add_metric([label_value(queue)], 1 if queue in paused else 0)
        return family

    def _bounded(self, counts: dict[str, int]) -> dict[str, int]:
        """At most `max_label_values` label values (the largest), the rest summed as `other`."""
        ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
        cap = self.metrics.max_label_values
        result: dict[str, int] = {}
        for queue, count in ranked[:cap]:
            result[label_value(queue)] = result.get(label_value(queue), 0) + count
        if len(ranked) > cap:
            result[OTHER_LABEL_VALUE] = result.get(OTHER_LABEL_VALUE, 0) + sum(count for _, count in ranked[cap:])
        return result


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)
