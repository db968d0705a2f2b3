"""The benchmarks' CPU-time accounting and verdicts (benchmarks/cost.py, benchmarks/storm.py): pure code, no Redis."""

import math

import pytest

from benchmarks.cost import (
    COMMANDS,
    SERVER_CPU,
    WORKER_CPU,
    RunCost,
    absolute_extras,
    cost_figure,
    judge_at_most,
    relative_extras,
    retried_attempt_extras,
    trimmed,
)
from benchmarks.storm import StormRun, alert_figures, dlq_figures, storm_figures


def run(worker_ms: float, server_ms: float = 1.0, commands: int = 60, units: int = 1000) -> RunCost:
    """A run of `units` jobs costing `worker_ms` / `server_ms` of CPU and `commands` commands per job."""
    return RunCost(units, worker_ms / 1000 * units, server_ms / 1000 * units, commands * units)


def test_a_run_cost_is_divided_by_its_jobs():
    cost = RunCost(units=400, worker_cpu=1.2, server_cpu=0.24, commands=36_000)
    assert cost.worker_per_unit == pytest.approx(0.003)
    assert cost.server_per_unit == pytest.approx(0.0006)
    assert cost.commands_per_unit == pytest.approx(90)


def test_a_workers_start_and_stop_are_taken_off_a_run():
    cost = RunCost(units=100, worker_cpu=1.1, server_cpu=0.10, commands=6_100).less(RunCost(0, 0.5, 0.01, 100))
    assert cost.worker_per_unit == pytest.approx(0.006)
    assert cost.server_per_unit == pytest.approx(0.0009)
    assert cost.commands_per_unit == 60


def test_extras_are_per_pair_relative_for_cpu_and_absolute_for_commands():
    assert relative_extras([1.1, 2.4], [1.0, 2.0]) == pytest.approx([0.10, 0.20])
    assert absolute_extras([89, 90], [57, 57]) == [32, 33]
    assert relative_extras([0.0, 1.0], [0.0, 0.0]) == [0.0, math.inf]  # nothing measured: no division by 0
    with pytest.raises(ValueError):
        relative_extras([1.0, 2.0], [1.0])  # unpaired runs are a bug, not a result


def test_from_five_pairs_the_lowest_and_highest_are_set_aside():
    assert trimmed([5, 1, 3, 9, 4]) == [3, 4, 5]
    assert trimmed([5, 1, 3, 9]) == [1, 3, 5, 9]  # four pairs: every one counts
    assert trimmed([0.2]) == [0.2]


@pytest.mark.parametrize(
    ("extras", "verdict"),
    [
        ([0.05, 0.06, 0.07, 0.08, 0.09], True),  # every pair within 10 %
        ([0.05, 0.06, 0.07, 0.08, 0.50], True),  # one spike above: set aside
        ([0.12, 0.15, 0.20, 0.25, 0.02], False),  # one pair below: set aside, the rest miss
        ([0.05, 0.08, 0.12, 0.15, 0.20], None),  # the middle three straddle 10 %
        ([0.11], False),  # one pair (bench-quick): judged on it alone
        ([0.10], True),  # at the limit is within it
    ],
)
def test_judge_at_most(extras, verdict):
    assert judge_at_most(extras, 0.10) is verdict


def test_retried_attempt_extra_is_against_plain_cpu_per_run():
    # 4 runs per job (3 retried attempts + 1 success). Plain: 4 ms per job -> 1 ms per run.
    # Ours: 4.3 ms per job -> 0.1 ms extra per retried attempt -> 10 % of plain's run.
    assert retried_attempt_extras([4.3], [4.0], retries=3) == pytest.approx([0.10])
    assert retried_attempt_extras([4.0, 3.9], [4.0, 4.0], retries=3) == pytest.approx([0.0, -0.1 / 3 / 1.0])


def test_cpu_row_shows_runs_median_extra_and_verdict():
    ours = [run(3.2), run(3.3), run(3.1), run(3.25), run(3.3)]
    plain = [run(3.0)] * 5
    figure = cost_figure("2. Failure path", "worker CPU per job", WORKER_CPU, ours, plain, limit=0.10)
    assert figure.ours.startswith("3,250 µs (3,200 µs, 3,300 µs, 3,100 µs, 3,250 µs, 3,300 µs)")
    assert figure.ours.endswith("extra +8.3 %")
    assert figure.baseline.startswith("3,000 µs")
    assert figure.ratio == pytest.approx(3.0 / 3.25)
    assert figure.spread == "extra +3.3 % … +10.0 %"
    assert figure.target == "extra <= +10.0 %"
    assert figure.verdict == "met"


def test_server_cpu_over_the_limit_is_missed():
    ours = [run(3, server_ms=0.75)] * 5
    plain = [run(3, server_ms=0.60)] * 5
    figure = cost_figure("2. Failure path", "server CPU per job", SERVER_CPU, ours, plain, limit=0.15)
    assert figure.ours.endswith("extra +25.0 %")
    assert figure.verdict == "missed"


def test_commands_are_judged_as_a_difference_per_job():
    ours = [run(3, commands=89)] * 5
    plain = [run(3, commands=57)] * 5
    figure = cost_figure("2. Failure path", "server commands per job", COMMANDS, ours, plain, limit=16)
    assert figure.ours == "89.0 (89.0, 89.0, 89.0, 89.0, 89.0); extra +32.0"
    assert figure.target == "extra <= 16 per job"
    assert figure.verdict == "missed"
    assert cost_figure("x", "y", COMMANDS, [run(3, commands=70)], [run(3, commands=57)], limit=16).verdict == "met"


def test_a_row_without_a_limit_has_no_verdict():
    figure = cost_figure("1. Success path", "worker CPU per job", WORKER_CPU, [run(3.1)], [run(3.0)])
    assert (figure.target, figure.verdict, figure.spread) == ("", "", "one pair")


def storm_run(drain: float, p99_ms: float, jobs: int = 20_000, **ours: object) -> StormRun:
    pings = tuple([0.0001] * 98 + [p99_ms / 1000] * 2)  # p99 of 100 PINGs: the 99th
    return StormRun(jobs, drain, drain + 1, run(25, units=jobs), pings, **ours)  # type: ignore[arg-type]


def storm_row(figures, words):
    return next(figure for figure in figures if words in figure.metric)


def test_storm_drain_and_ping_verdicts():
    ours = storm_run(100.0, 3.0, entries=20_000, dropped=0, groups=(("abc", 20_000),))
    plain = storm_run(90.0, 2.5)
    rows = storm_figures([ours], [plain], workers=4)
    drain = storm_row(rows, "time to drain")
    assert drain.ratio == pytest.approx(0.9)
    assert drain.verdict == "met"  # 0.90 >= 0.85
    ping = storm_row(rows, "PING latency p99")
    assert ping.ours == "3,000 µs" and ping.baseline == "2,500 µs"
    assert ping.verdict == "met"  # 1.2x <= 1.5x
    slow = storm_figures([storm_run(120.0, 4.0, groups=(("abc", 20_000),))], [plain], workers=4)
    assert storm_row(slow, "time to drain").verdict == "missed"  # 90 / 120 = 0.75
    assert storm_row(slow, "PING latency p99").verdict == "missed"  # 1.6x


def test_storm_dlq_rows_need_every_job_in_one_group():
    whole = storm_run(1.0, 1.0, entries=20_000, dropped=0, groups=(("abc", 20_000),))
    assert [figure.verdict for figure in dlq_figures(whole)] == ["met", "met"]
    capped = storm_run(1.0, 1.0, entries=10_000, dropped=10_000, groups=(("abc", 10_000),))
    assert [figure.verdict for figure in dlq_figures(capped)] == ["missed", "missed"]
    split = storm_run(1.0, 1.0, entries=20_000, dropped=0, groups=(("abc", 19_000), ("def", 1_000)))
    assert [figure.verdict for figure in dlq_figures(split)] == ["met", "missed"]


def test_storm_alerts_one_message_per_rule_and_subject():
    group = (("abc", 20_000),)
    one = storm_run(1.0, 1.0, groups=group, alerts=(("group_burst", "abc"), ("dlq_size_warning", "dlq")))
    per_rule, about_group = alert_figures(one)
    assert per_rule.ours == "dlq_size_warning 1, group_burst 1" and per_rule.verdict == "met"
    assert about_group.ours == "1 (group_burst)" and about_group.verdict == "met"

    both = storm_run(1.0, 1.0, groups=group, alerts=(("new_group", "abc"), ("group_burst", "abc")))
    per_rule, about_group = alert_figures(both)
    assert per_rule.verdict == "met"
    assert about_group.ours == "2 (group_burst, new_group)" and about_group.verdict == "missed"

    repeated = storm_run(1.0, 1.0, groups=group, alerts=(("group_burst", "abc"),) * 3)
    assert [figure.verdict for figure in alert_figures(repeated)] == ["missed", "missed"]
    silent = storm_run(1.0, 1.0, groups=group)
    assert [figure.verdict for figure in alert_figures(silent)] == ["missed", "missed"]
