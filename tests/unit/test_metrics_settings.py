"""METRICS_* (failure_handlers/metrics/settings.py): defaults, values, one-line errors."""

import pytest

from failure_handlers.errors import ConfigError
from failure_handlers.metrics.settings import MetricsSettings, parse_metrics_settings
from failure_handlers.settings_reader import source_of


def test_defaults():
    assert parse_metrics_settings(source_of({})) == MetricsSettings(100, 2_000, 20)


def test_values_are_read():
    values = {"METRICS_MAX_LABEL_VALUES": "5", "METRICS_MAX_SERIES": "50", "METRICS_TOP_GROUPS": "3"}
    assert parse_metrics_settings(source_of(values)) == MetricsSettings(5, 50, 3)


@pytest.mark.parametrize("name", ["METRICS_MAX_LABEL_VALUES", "METRICS_MAX_SERIES", "METRICS_TOP_GROUPS"])
def test_bad_value_names_the_variable(name):
    with pytest.raises(ConfigError, match=f"^{name}='0': expected a whole number >= 1$"):
        parse_metrics_settings(source_of({name: "0"}))
