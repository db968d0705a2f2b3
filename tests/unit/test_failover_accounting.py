"""The failover chaos experiment's account per job (chaos/failover.py), without servers."""

from __future__ import annotations

from chaos.failover import REAL_CAUSES, Disruption, JobAccount, _explain, _runs

FREEZE = Disruption("freeze", started=100.0, promoted=104.0, ended=120.0)
SHUTDOWN = Disruption("shutdown", started=200.0, promoted=203.0, ended=208.0)


def test_the_runs_file_gives_each_jobs_runs_in_order_with_their_ends(tmp_path):
    runs_file = tmp_path / "runs.log"
    runs_file.write_text(
        "start job-a 11 101.000\nstart job-b 12 101.500\nend job-a 11 102.000\nstart job-a 13 130.000\n"
    )
    assert _runs(runs_file) == {"job-a": [(101.0, 102.0), (130.0, None)], "job-b": [(101.5, None)]}
    assert _runs(tmp_path / "missing.log") == {}


def test_an_extra_run_is_explained_by_the_disruption_an_earlier_run_overlapped():
    assert _explain([(110.0, 111.0), (130.0, 131.0)], [FREEZE, SHUTDOWN]) == "freeze"
    assert _explain([(99.5, None), (130.0, 131.0)], [FREEZE, SHUTDOWN]) == "freeze"  # running when it froze
    assert _explain([(205.0, 206.0), (230.0, 231.0)], [FREEZE, SHUTDOWN]) == "shutdown"
    assert _explain([(50.0, 51.0), (60.0, 61.0)], [FREEZE, SHUTDOWN]) == "unexplained"
    assert _explain([(130.0, 131.0), (140.0, 141.0)], [FREEZE, SHUTDOWN]) == "unexplained"  # after both


def test_a_job_is_lost_dead_without_its_cause_or_dead_lettered_twice():
    permanent = REAL_CAUSES["permanent"]
    assert JobAccount("j", "ok", runs=1, status="queued").lost
    assert not JobAccount("j", "ok", runs=1, status="finished").lost
    assert not JobAccount("j", "permanent", runs=1, status="failed", exc_type=permanent, archive_rows=1).cause_lost
    assert JobAccount("j", "single", runs=1, status="failed", exc_type="rq.exceptions.AbandonedJobError").cause_lost
    assert JobAccount("j", "ok", runs=1, status="failed", exc_type="rq.exceptions.AbandonedJobError").cause_lost
    assert JobAccount("j", "permanent", status="failed", exc_type=permanent, archive_rows=2).duplicate
    assert JobAccount("j", "permanent", status="finished", exc_type=permanent, archive_rows=1).duplicate
    assert JobAccount("j", "ok", status="finished", archive_rows=1).duplicate
    assert JobAccount("j", "permanent", status="failed", exc_type=permanent).archive_missing


def test_extra_runs_count_against_what_the_fate_needs_and_the_budget_against_the_retries():
    assert JobAccount("j", "flaky", runs=3).extra_runs == 0 and not JobAccount("j", "flaky", runs=3).beyond_budget
    assert JobAccount("j", "flaky", runs=4).beyond_budget
    assert JobAccount("j", "ok", runs=2).extra_runs == 1 and not JobAccount("j", "ok", runs=2).beyond_budget
    assert JobAccount("j", "single", runs=2).beyond_budget
