"""Delay arithmetic and jitter bounds (failure_handlers/retry/backoff.py), without Redis."""

import random

import pytest

from failure_handlers.retry.backoff import (
    Jitter,
    aligned_delays,
    describe_schedule,
    exponential_delays,
    jittered,
    parse_jitter,
)


def test_exponential_doubles_from_the_base_up_to_the_cap():
    assert exponential_delays(6, base=30, cap=600) == [30, 60, 120, 240, 480, 600]


def test_exponential_with_a_one_second_base():
    assert exponential_delays(4, base=1, cap=600) == [1, 2, 4, 8]


def test_exponential_stays_at_the_cap_for_a_huge_budget():
    delays = exponential_delays(10_000, base=30, cap=600)
    assert len(delays) == 10_000 and delays[-1] == 600 and max(delays) == 600


def test_no_retries_no_delays():
    assert exponential_delays(0, 30, 600) == [] and aligned_delays([30], 0) == []


@pytest.mark.parametrize(
    ("intervals", "count", "expected"),
    [([30, 60, 120], 3, [30, 60, 120]), ([2, 4], 3, [2, 2, 4]), ([7], 5, [7] * 5), ([1, 2, 3], 2, [2, 3]),
     (None, 2, [0, 0])],
)  # fmt: skip
def test_aligned_delays_are_what_rq_waits(intervals, count, expected):
    assert aligned_delays(intervals, count) == expected


@pytest.mark.parametrize("text", ["none", "full", "equal", "0.2", " FULL ", "1", "±0.5"])
def test_jitter_texts_parse_and_round_trip(text):
    jitter = parse_jitter(text)
    assert parse_jitter(jitter.text) == jitter


@pytest.mark.parametrize("text", ["", "half", "0", "-0.2", "1.5", "nan", "inf", "20%"])
def test_bad_jitter_text_raises_value_error(text):
    with pytest.raises(ValueError, match="expected none, full, equal or a fraction"):
        parse_jitter(text)


def draws(jitter: Jitter, delay: int, n: int = 2000) -> list[int]:
    rng = random.Random(12)
    return [jittered(delay, jitter, rng) for _ in range(n)]


def test_no_jitter_keeps_the_planned_delay():
    assert set(draws(Jitter("none"), 60)) == {60}


def test_full_jitter_spreads_over_zero_to_the_delay():
    values = draws(Jitter("full"), 60)
    assert min(values) >= 0 and max(values) <= 60
    assert min(values) <= 3 and max(values) >= 57 and len(set(values)) > 50


def test_equal_jitter_never_goes_below_half_the_delay():
    values = draws(Jitter("equal"), 60)
    assert min(values) >= 30 and max(values) <= 60 and len(set(values)) > 25


def test_fraction_jitter_stays_within_plus_minus_the_fraction():
    values = draws(Jitter("fraction", 0.2), 100)
    assert min(values) >= 80 and max(values) <= 120 and min(values) <= 82 and max(values) >= 118


def test_jitter_of_a_zero_delay_is_zero():
    assert set(draws(Jitter("full"), 0, 50)) == {0}


def test_seeded_jitter_is_reproducible():
    assert draws(Jitter("full"), 600, 20) == draws(Jitter("full"), 600, 20)


def test_schedule_description():
    assert describe_schedule([30, 60, 120]) == "30, 60, 120s" and describe_schedule([]) == "none"
