import pytest

from failure_handlers.dlq.health import Health, Thresholds, assess, format_age

LIMITS = Thresholds(warn_size=10, crit_size=100, max_age_seconds=3600)


@pytest.mark.parametrize(
    ("size", "oldest_age", "health"),
    [
        (0, None, Health.OK),
        (9, 3599, Health.OK),
        (10, 60, Health.WARNING),
        (5, 3601, Health.WARNING),
        (100, 60, Health.CRITICAL),
        (500, 99999, Health.CRITICAL),
    ],
)
def test_thresholds(size, oldest_age, health):
    assert assess(size, oldest_age, 0, LIMITS)[0] == health


def test_summary_is_one_line_with_every_figure():
    health, line = assess(12, 7300, 3, LIMITS)
    assert line == (
        "DLQ WARNING: 12 dead jobs (warn 10, crit 100), oldest 2h01m old (max 1h00m), 3 dropped by DLQ_MAX_ENTRIES"
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "-"), (5, "5s"), (125, "2m"), (3600, "1h00m"), (90000, "1d01h"), (-3, "0s")]
)
def test_format_age(seconds, text):
    assert format_age(seconds) == text
