"""The retry plan (failure_handlers/retry/plan.py, retry/task_options.py): `@task(...)` options and
`PlannedRetry`, the plan made at enqueue, precedence, bad values."""

import pytest
from rq import Retry

from failure_handlers.config import parse_settings
from failure_handlers.integration import RetryingQueue
from failure_handlers.retry.plan import PlannedRetry, RetryPlan, configured_retry
from failure_handlers.retry.rules import RULES_ATTRIBUTE, task_rules_of
from failure_handlers.retry.task_options import task, task_options_of


@task(retry_max=4, retry_backoff_base=2, retry_backoff_cap=10, retry_jitter="equal")
def exponential_task():
    raise ConnectionError("x")


@task(retry_jitter="full", permanent_on=(KeyError, "validation error"))
def jittered_task():
    raise ConnectionError("x")


def plain_task():
    raise ConnectionError("x")


EXPONENTIAL = parse_settings({"RETRY_MAX": "6", "RETRY_BACKOFF": "exponential", "RETRY_JITTER": "0.2"})


def meta_of(job):
    return {k: job.meta[k] for k in ("retry_delays", "retry_jitter", "retry_backoff")}


def test_configured_exponential_backoff_is_planned_at_enqueue(fake_redis):
    job = RetryingQueue("q", connection=fake_redis, settings=EXPONENTIAL).enqueue(plain_task)
    assert job.retries_left == 6 and job.retry_intervals == [30, 60, 120, 240, 480, 600]
    assert meta_of(job) == {
        "retry_delays": [30, 60, 120, 240, 480, 600],
        "retry_jitter": "0.2",
        "retry_backoff": "exponential, base 30s, cap 600s",
    }


def test_task_options_beat_the_configuration(fake_redis):
    job = RetryingQueue("q", connection=fake_redis, settings=parse_settings({})).enqueue(exponential_task)
    assert job.retry_intervals == [2, 4, 8, 10]
    assert meta_of(job) == {
        "retry_delays": [2, 4, 8, 10],
        "retry_jitter": "equal",
        "retry_backoff": "exponential, base 2s, cap 10s",
    }


def test_task_jitter_with_configured_fixed_list(fake_redis):
    job = RetryingQueue("q", connection=fake_redis, settings=parse_settings({"RETRY_INTERVALS": "5,9"})).enqueue(
        jittered_task
    )
    assert job.retry_intervals == [5, 9] and meta_of(job) == {
        "retry_delays": [5, 5, 9],
        "retry_jitter": "full",
        "retry_backoff": "fixed",
    }


def test_call_site_beats_the_task(fake_redis):
    queue = RetryingQueue("q", connection=fake_redis, settings=EXPONENTIAL)
    planned = queue.enqueue(exponential_task, retry=PlannedRetry(max=3, intervals=[1], jitter="none"))
    assert planned.retry_intervals == [1, 1, 1] and planned.meta["retry_jitter"] == "none"
    plain = queue.enqueue(exponential_task, retry=Retry(max=2, interval=[3, 4]))
    assert meta_of(plain) == {"retry_delays": [3, 4], "retry_jitter": "equal", "retry_backoff": "fixed"}


def test_planned_retry_exponential_defaults():
    retry = PlannedRetry(max=6, backoff="exponential", jitter="equal")
    assert retry.intervals == [30, 60, 120, 240, 480, 600] and retry.jitter.kind == "equal"


def test_task_rules_are_found_by_the_handler_through_the_dotted_path():
    rules = task_rules_of(f"{__name__}.jittered_task")
    assert rules.permanent_on[0] is KeyError and rules.permanent_on[1].pattern == "validation error"
    assert not hasattr(plain_task, RULES_ATTRIBUTE) and not task_rules_of(f"{__name__}.plain_task")
    assert not task_rules_of("no.such.module.func") and not task_rules_of(None)


def test_task_base_above_the_configured_cap_fails_at_enqueue_and_writes_nothing(fake_redis):
    @task(retry_backoff_base=1000)
    def slow():
        pass

    with pytest.raises(ValueError, match="cap 600s is below its base 1000s"):
        configured_retry(task_options_of(slow).plan, EXPONENTIAL.retry.plan)
    with pytest.raises(ValueError):
        RetryingQueue("q", connection=fake_redis, settings=EXPONENTIAL).enqueue(slow)
    assert fake_redis.keys("*") == []


@pytest.mark.parametrize(
    "options",
    [
        {"retry_backoff": "linear"},
        {"retry_backoff_base": 0},
        {"retry_backoff_base": "30"},
        {"retry_backoff_cap": -1},
        {"retry_backoff_base": 10, "retry_backoff_cap": 5},
        {"retry_backoff": "fixed", "retry_backoff_base": 5},
        {"retry_intervals": [1, 2], "retry_backoff": "exponential"},
        {"retry_intervals": [1, -2]},
        {"retry_intervals": "30"},
        {"retry_jitter": "lots"},
        {"retry_jitter": "1.5"},
        {"retry_max": -1},
        {"job_timeout": 0},
        {"permanent_on": ("(unclosed",)},
        {"retry_on": (42,)},
    ],
)
def test_bad_task_options_raise_value_error_at_decoration(options):
    with pytest.raises(ValueError):
        task(**options)


@pytest.mark.parametrize(
    "kwargs",
    [{"max": 0}, {"max": 3, "backoff": "linear"}, {"max": 3, "intervals": [1], "base": 2},
     {"max": 3, "base": 10, "cap": 5}, {"max": 3, "intervals": []}, {"max": 3, "jitter": "wide"}],
)  # fmt: skip
def test_bad_planned_retry_raises_value_error(kwargs):
    with pytest.raises(ValueError):
        PlannedRetry(**kwargs)


def test_one_plan_type_at_every_level():
    @task(retry_backoff_base=5)
    def fast():
        pass

    assert task_options_of(fast).plan == RetryPlan(backoff="exponential", base=5)
    assert PlannedRetry(max=2, intervals=[3]).intervals == [3, 3]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"retry_backoff": "linear"}, "retry_backoff='linear': expected fixed or exponential"),
        (
            {"retry_backoff_base": 10, "retry_backoff_cap": 5},
            r"retry_backoff_cap=5: must be >= retry_backoff_base \(10\)",
        ),
        ({"retry_jitter": "lots"}, "retry_jitter='lots': expected none, full, equal"),
    ],
)
def test_task_errors_name_the_task_option(given, message):
    with pytest.raises(ValueError, match=message):
        task(**given)


def test_call_site_errors_name_the_call_site_parameter():
    with pytest.raises(ValueError, match=r"^cap=5: must be >= base \(10\)$"):
        PlannedRetry(max=3, base=10, cap=5)
