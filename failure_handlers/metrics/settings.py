"""The METRICS_* settings: how many series the Prometheus counters and gauges may create. Pure code."""

from __future__ import annotations

from dataclasses import dataclass

from failure_handlers.settings_reader import Reader, Source

DEFAULT_MAX_LABEL_VALUES = 100
DEFAULT_MAX_SERIES = 2_000
DEFAULT_TOP_GROUPS = 20

DEFAULTS = {
    "METRICS_MAX_LABEL_VALUES": DEFAULT_MAX_LABEL_VALUES,
    "METRICS_MAX_SERIES": DEFAULT_MAX_SERIES,
    "METRICS_TOP_GROUPS": DEFAULT_TOP_GROUPS,
}


@dataclass(frozen=True)
class MetricsSettings:
    """Validated METRICS_* values."""

    max_label_values: int = DEFAULT_MAX_LABEL_VALUES  # distinct values per label; later ones count as `other`
    max_series: int = DEFAULT_MAX_SERIES  # label combinations per counter
    top_groups: int = DEFAULT_TOP_GROUPS  # failure groups shown by rq_dlq_group_entries


def parse_metrics_settings(source: Source) -> MetricsSettings:
    """METRICS_* from `source`; raises `ConfigError` naming the variable."""
    read = Reader(source, DEFAULTS)
    return MetricsSettings(
        max_label_values=read.whole_number("METRICS_MAX_LABEL_VALUES", minimum=1),
        max_series=read.whole_number("METRICS_MAX_SERIES", minimum=1),
        top_groups=read.whole_number("METRICS_TOP_GROUPS", minimum=1),
    )
