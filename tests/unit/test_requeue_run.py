"""The requeue run's pacing and hooks, without a server (fakeredis: nothing here is requeued)."""

from __future__ import annotations

import pytest

from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.requeue import Outcome, Result
from failure_handlers.operations.requeue_run import RequeueOptions, batch_size, pause, requeue_jobs


class FakeClock:
    """`clock` and `sleep` for `requeue_jobs`: time moves only when the run sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def dlq(connection: object) -> DeadLetterQueue:
    return DeadLetterQueue(connection, "test:dlq:", 3600)  # type: ignore[arg-type]


def options(**overrides: object) -> RequeueOptions:
    values = {"retries": 3, "intervals": (), "max_label_values": 100, "serializer_name": "pickle", **overrides}
    return RequeueOptions(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("batch", "rate", "size"),
    [(500, None, 500), (500, 1000.0, 500), (500, 20.0, 20), (500, 2.5, 2), (500, 0.5, 1), (3, 20.0, 3)],
)
def test_a_rate_caps_the_batch_at_one_seconds_worth(batch, rate, size):
    assert batch_size(batch, rate) == size


@pytest.mark.parametrize(
    ("done", "elapsed", "rate", "seconds"),
    [(10, 0.0, None, 0.0), (10, 0.0, 5.0, 2.0), (10, 1.5, 5.0, 0.5), (10, 3.0, 5.0, 0.0)],
)
def test_the_pause_makes_done_jobs_take_done_over_rate_seconds(done, elapsed, rate, seconds):
    assert pause(done, elapsed, rate) == pytest.approx(seconds)


def test_a_paced_run_sleeps_after_each_batch_until_its_share_of_time(fake_redis):
    clock = FakeClock()
    ids = [f"gone-{n}" for n in range(12)]

    report = requeue_jobs(fake_redis, dlq(fake_redis), ids, options(rate=5.0), clock=clock, sleep=clock.sleep)

    assert clock.sleeps == pytest.approx([1.0, 1.0, 0.4])  # batches of 5, 5, 2 at 5 jobs/s
    assert report.seconds == pytest.approx(2.4)


def test_an_unpaced_run_never_sleeps(fake_redis):
    clock = FakeClock()
    requeue_jobs(fake_redis, dlq(fake_redis), ["a", "b"], options(), clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []


def test_hooks_see_every_outcome_and_every_batch(fake_redis):
    outcomes: list[Outcome] = []
    batches: list[tuple[int, int]] = []

    report = requeue_jobs(
        fake_redis,
        dlq(fake_redis),
        ["a", "b", "a", "c", "bad id"],
        options(batch=2),
        on_outcome=outcomes.append,
        on_batch=lambda done, total: batches.append((done, total)),
    )

    assert [outcome.job_id for outcome in outcomes] == ["a", "b", "c", "bad id"]  # once each, in order
    assert all(outcome.result is Result.ERROR for outcome in outcomes)
    assert batches == [(2, 4), (4, 4)]
    assert (report.selected, report.done, report.skipped, report.errors) == (4, 0, 0, 4)
    assert report.problems[-1].detail == "not a valid RQ job id"


def test_the_settings_values_have_no_defaults():
    with pytest.raises(TypeError):
        RequeueOptions(retries=3, intervals=())  # type: ignore[call-arg]
