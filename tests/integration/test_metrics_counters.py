"""The counters on a real server with real workers: killed jobs count as `reconciled`, requeues in
the requeue's own MULTI, and `rq-dlq metrics --once` shows them; bad input is one error line."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from rq import Retry
from rq.registry import FailedJobRegistry

from failure_handlers.metrics.counters import read_counters
from tests import plain_rq_tasks
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_a_killed_job_counts_as_reconciled_and_a_requeue_counts_once(redis, dlq, worker):
    worker()
    killed = enqueue(chaos_job, "sigkill", connection=redis, retry=None)
    wait_for(lambda: killed.id in FailedJobRegistry("default", connection=redis), 30, "the killed job to fail")
    failing = enqueue(plain_rq_tasks.charge, 3, connection=redis, retry=Retry(max=1, interval=0))
    wait_for(lambda: dlq.get(failing.id), 30, "the failing job's DLQ entry")

    assert run_script("scripts/dlq.py", "reconcile").returncode == 0
    counted = read_counters(redis, dlq.keys)
    reasons = {labels[2]: count for labels, count in counted["dead_lettered"]}
    assert reasons == {"reconciled": 1, "retries_exhausted": 1}
    assert sum(count for _, count in counted["failures"]) == 3  # one killed run, two runs of `charge`

    requeued = run_script("scripts/requeue.py", failing.id, "--retries", "0")
    assert requeued.returncode == 0, requeued.stderr
    assert read_counters(redis, dlq.keys)["requeued"] == [(("default",), 1)]

    scrape = run_script("-m", "failure_handlers.cli", "metrics", "--once")
    assert scrape.returncode == 0, scrape.stderr
    assert samples(scrape.stdout, "rq_jobs_requeued_total") == {(("queue", "default"),): 1.0}
    dead = samples(scrape.stdout, "rq_jobs_dead_lettered_total")
    assert dead[(("func", "worker_tasks.chaos_tasks.chaos_job"), ("queue", "default"), ("reason", "reconciled"))] == 1


def test_metrics_bad_input_is_one_error_line(redis):
    assert_one_line_error(run_script("-m", "failure_handlers.cli", "metrics", "--port", "70000"), "--port")
    taken = run_script("-m", "failure_handlers.cli", "metrics", "--port", "1", "--host", "256.1.1.1")
    assert_one_line_error(taken, "cannot listen on 256.1.1.1:1")
