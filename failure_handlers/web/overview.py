"""The figures of the overview page and of `GET /api/stats`: read from the indexes, whatever the
DLQ's size (stats, bucketed ZCOUNTs, the health thresholds of `rq-dlq check`, the reconciler's
last pass, what a pass would change now, and the requeues in progress). Reads only."""

from __future__ import annotations

import time
from dataclasses import dataclass

from failure_handlers.dlq.claims import CLAIM_STALE_SECONDS
from failure_handlers.dlq.health import Health, Thresholds, assess
from failure_handlers.dlq.stats import DlqStats
from failure_handlers.operations.reconciler import Backlog, Reconciler
from failure_handlers.operations.reconciler_health import LastPass, last_pass
from failure_handlers.web.formatting import ago, number
from failure_handlers.web.state import DashboardState
from failure_handlers.web.timeline import Chart, chart_json, failure_charts, group_trends

TOP_GROUPS = 10


@dataclass(frozen=True)
class Overview:
    now: float
    stats: DlqStats
    charts: list[Chart]
    trends: dict[str, Chart]  # fingerprint -> trend of the top groups
    health: Health
    health_line: str  # `rq-dlq check`'s line
    reconciler: LastPass | None
    backlog: Backlog  # what a reconciliation pass would change now (counted with reads only)
    claims: int  # requeues in progress
    stale_claims: int  # requeues that died half-way (given back by the next requeue)

    @property
    def oldest_age(self) -> float | None:
        return self.now - self.stats.oldest if self.stats.oldest else None

    @property
    def reconciler_late(self) -> bool:
        return self.reconciler is None or self.reconciler.is_late(self.now)


def build_overview(state: DashboardState, top_groups: int = TOP_GROUPS) -> Overview:
    now = time.time()
    dlq, settings = state.dlq, state.settings
    stats = dlq.stats(top_groups=top_groups)
    limits = Thresholds(settings.dlq.warn_size, settings.dlq.crit_size, settings.dlq.max_age_seconds)
    oldest_age = now - stats.oldest if stats.oldest else None
    health, line = assess(stats.total, oldest_age, stats.dropped, limits)
    with state.connection.pipeline(transaction=False) as pipe:
        pipe.zcard(dlq.keys.claims)
        pipe.zcount(dlq.keys.claims, "-inf", now - CLAIM_STALE_SECONDS)
        claims, stale = pipe.execute()
    return Overview(
        now=now,
        stats=stats,
        charts=failure_charts(dlq, now),
        trends=group_trends(dlq, [group.fingerprint for group in stats.groups], now),
        health=health,
        health_line=line,
        reconciler=last_pass(state.connection, dlq.keys),
        backlog=Reconciler(state.connection, dlq, settings, state.serializer, clean_abandoned=False).backlog(),
        claims=int(claims),
        stale_claims=int(stale),
    )


def overview_json(overview: Overview) -> dict[str, object]:
    """`rq-dlq stats --json`'s fields, plus the charts, the health and the reconciler."""
    passed = overview.reconciler
    return {
        **overview.stats.as_json(overview.now),
        "now": overview.now,
        "failures_over_time": {chart.name: chart_json(chart) for chart in overview.charts},
        "group_trends": {fingerprint: chart_json(chart) for fingerprint, chart in overview.trends.items()},
        "health": {"status": overview.health.name, "line": overview.health_line},
        "reconciler": {
            "last_pass_at": passed.at if passed else None,
            "last_pass_full": passed.full if passed else None,
            "interval_seconds": passed.interval if passed else None,
            "last_pass": passed.line if passed else None,
            "late": overview.reconciler_late,
        },
        "reconcile_pending": overview.backlog.as_json(),
        "requeues_in_progress": overview.claims,
        "stale_requeue_claims": overview.stale_claims,
        "display": {  # what the pages' live counters show, formatted as the pages format them
            "total": number(overview.stats.total),
            "dropped": number(overview.stats.dropped),
            "oldest_age": ago(overview.stats.oldest, overview.now),
            "health": overview.health.name,
            "health_line": overview.health_line,
            "requeues_in_progress": number(overview.claims),
        },
    }
