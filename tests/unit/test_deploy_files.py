"""deploy/: the Prometheus alerting rules pass promtool, and the Grafana dashboard asks only for
metrics the exporter exposes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from failure_handlers.metrics.collector import COUNTER_HELP

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (apt-get install prometheus; .ci/run does)"
)
GAUGES = {
    "rq_dlq_up", "rq_dlq_size", "rq_dlq_entries", "rq_dlq_group_entries", "rq_dlq_groups",
    "rq_dlq_oldest_entry_age_seconds", "rq_dlq_alert_deliveries_pending", "rq_dlq_scrape_duration_seconds",
    "rq_jobs", "rq_workers", "rq_queue_paused",
}  # fmt: skip
COUNTERS = {name + "_total" for name, _, _ in COUNTER_HELP.values()} | {
    "rq_dlq_dropped_total", "rq_workers_success_total", "rq_workers_failed_total", "rq_workers_working_time_total",
}  # fmt: skip


@needs_promtool
def test_alert_rules_pass_promtool_check():
    result = subprocess.run([PROMTOOL, "check", "rules", str(DEPLOY / "prometheus/alerts.yml")], capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


@needs_promtool
def test_alert_rules_fire_at_the_documented_thresholds():
    result = subprocess.run(
        [PROMTOOL, "test", "rules", "alerts_test.yml"], cwd=DEPLOY / "prometheus", capture_output=True
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def metric_names(expression: str) -> set[str]:
    return set(re.findall(r"\b(rq_[a-z_]+)\b", expression))


def test_the_grafana_dashboard_uses_only_exposed_metrics():
    dashboard = json.loads((DEPLOY / "grafana/rq-dead-letter.json").read_text())
    used = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            used |= metric_names(target["expr"])
    assert used and used <= GAUGES | COUNTERS, used - GAUGES - COUNTERS


def test_the_alert_rules_use_only_exposed_metrics():
    used = metric_names((DEPLOY / "prometheus/alerts.yml").read_text())
    assert used and used <= GAUGES | COUNTERS, used - GAUGES - COUNTERS
