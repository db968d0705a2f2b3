"""The circuit breaker's state machine (`storage/lua/circuit.lua`), run by fakeredis + lupa with an injected clock."""

from __future__ import annotations

import pytest

from failure_handlers.circuits import (
    Circuit,
    CircuitBreaker,
    CircuitLimits,
    CircuitOpen,
    counts_as_failure,
    list_circuits,
    validate_circuit_name,
)
from failure_handlers.errors import PermanentError
from failure_handlers.storage.keys import DlqKeys

PREFIX = "test:dlq:"
T0 = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def breaker(fake_redis, clock):
    return CircuitBreaker(fake_redis, PREFIX, "payments-api", CircuitLimits(failures=3, window=60, reset=30), clock)


def fail_times(breaker, times, token="t"):
    return [breaker.record(f"{token}{n}", succeeded=False) for n in range(times)]


def open_circuit(breaker):
    fail_times(breaker, breaker.limits.failures)
    assert breaker.check("x").outcome == "open"


def test_a_new_circuit_is_closed_and_a_check_writes_nothing(breaker, fake_redis):
    assert breaker.check("a").outcome == "closed"
    assert fake_redis.keys("*") == []


def test_failures_below_the_threshold_keep_it_closed(breaker):
    decisions = fail_times(breaker, 2)
    assert [d.outcome for d in decisions] == ["closed", "closed"]
    assert [d.failures for d in decisions] == [1, 2]
    assert breaker.check("a").outcome == "closed"


def test_the_threshold_within_the_window_opens_it_for_reset_seconds(breaker, clock):
    decisions = fail_times(breaker, 3)
    assert decisions[-1].outcome == "open" and decisions[-1].failures == 3
    clock.now += 10
    decision = breaker.check("a")
    assert decision.outcome == "open"
    assert decision.retry_after == pytest.approx(20, abs=0.01)  # until the probe


def test_failures_older_than_the_window_do_not_count(breaker, clock):
    fail_times(breaker, 2)
    clock.now += 61
    assert breaker.record("late", succeeded=False).outcome == "closed"
    assert breaker.check("a").outcome == "closed"


def test_after_reset_seconds_one_call_is_the_probe_and_the_others_fail_fast(breaker, clock):
    open_circuit(breaker)
    clock.now += 30
    assert breaker.check("probe").outcome == "probe"
    others = [breaker.check(f"other{n}") for n in range(5)]
    assert {d.outcome for d in others} == {"open"}
    assert others[0].retry_after == pytest.approx(30, abs=0.01)  # until the probe's lease ends


def test_a_successful_probe_closes_it_and_forgets_the_failures(breaker, clock):
    open_circuit(breaker)
    clock.now += 30
    breaker.check("probe")
    assert breaker.record("probe", succeeded=True).outcome == "closed"
    assert breaker.check("a").outcome == "closed"
    assert breaker.record("b", succeeded=False).failures == 1


def test_a_failed_probe_opens_it_again_for_reset_seconds(breaker, clock):
    open_circuit(breaker)
    clock.now += 30
    breaker.check("probe")
    assert breaker.record("probe", succeeded=False).outcome == "open"
    clock.now += 29
    assert breaker.check("a").outcome == "open"
    clock.now += 1
    assert breaker.check("next-probe").outcome == "probe"


def test_a_probe_that_never_reports_lets_another_probe_through_after_its_lease(breaker, clock):
    open_circuit(breaker)
    clock.now += 30
    assert breaker.check("lost-probe").outcome == "probe"
    clock.now += 30
    assert breaker.check("second-probe").outcome == "probe"
    assert breaker.record("lost-probe", succeeded=True).outcome == "half_open"  # too late: ignored
    assert breaker.record("second-probe", succeeded=True).outcome == "closed"


def test_outcomes_of_calls_that_were_not_the_probe_change_nothing_while_open(breaker, clock):
    open_circuit(breaker)
    breaker.record("slow-call", succeeded=False)
    breaker.record("slow-call-2", succeeded=True)
    clock.now += 30
    assert breaker.check("probe").outcome == "probe"  # still reopens after the original reset


def test_circuits_are_independent(fake_redis, clock):
    limits = CircuitLimits(failures=1, window=60, reset=30)
    down = CircuitBreaker(fake_redis, PREFIX, "down", limits, clock)
    up = CircuitBreaker(fake_redis, PREFIX, "up", limits, clock)
    down.record("a", succeeded=False)
    assert down.check("b").outcome == "open"
    assert up.check("b").outcome == "closed"


def test_the_listing_shows_each_circuit_from_the_index(breaker, fake_redis, clock):
    fail_times(breaker, 1)
    other = CircuitBreaker(fake_redis, PREFIX, "mail", CircuitLimits(1, 60, 30), clock)
    other.record("a", succeeded=False)
    states = {state.name: state for state in list_circuits(fake_redis, DlqKeys(PREFIX), clock.now + 1)}
    assert states["payments-api"].state == "closed" and states["payments-api"].failures == 1
    assert states["mail"].state == "open" and states["mail"].open_until == pytest.approx(clock.now + 30)
    assert states["mail"].threshold == 1 and states["mail"].reset == 30
    due = {state.name: state for state in list_circuits(fake_redis, DlqKeys(PREFIX), clock.now + 31)}
    assert due["mail"].state == "half_open" and due["mail"].open_until is None
    assert fake_redis.zcard(DlqKeys(PREFIX).circuits) == 2


def test_without_a_clock_the_script_uses_the_servers(fake_redis):
    breaker = CircuitBreaker(fake_redis, PREFIX, "server-clock", CircuitLimits(1, 60, 30))
    breaker.record("a", succeeded=False)
    decision = breaker.check("b")
    assert decision.outcome == "open" and 29 < decision.retry_after <= 30


@pytest.mark.parametrize(
    "name",
    ["", "has space", "tab\there", "nul\x00", "star*", "x" * 101, "-leading-dash", "é-accent", None, 42],
)
def test_odd_circuit_names_are_refused_before_anything_is_written(name, fake_redis):
    with pytest.raises(ValueError, match="circuit name"):
        validate_circuit_name(name)
    with pytest.raises(ValueError, match="circuit name"):
        Circuit(name, connection=fake_redis)
    assert fake_redis.keys("*") == []


@pytest.mark.parametrize("name", ["payments-api", "webhook:example.com:8080", "a", "svc/v2@eu_1.x", "x" * 100])
def test_ordinary_circuit_names_are_accepted(name):
    assert validate_circuit_name(name) == name


@pytest.mark.parametrize("limits", [{"failures": 0}, {"window": -1}, {"reset": 1.5}, {"failures": True}])
def test_bad_limits_are_refused(limits):
    with pytest.raises(ValueError, match="whole number"):
        Circuit("payments-api", **limits)


def test_permanent_errors_and_client_errors_do_not_count_as_failures():
    import requests

    def http_error(status):
        response = requests.Response()
        response.status_code = status
        return requests.HTTPError(response=response)

    assert counts_as_failure(ConnectionError("down"))
    assert counts_as_failure(http_error(503)) and counts_as_failure(http_error(429))
    assert not counts_as_failure(http_error(400))
    assert not counts_as_failure(PermanentError("bad input"))
    assert not counts_as_failure(None)
    assert not counts_as_failure(CircuitOpen("inner", 3))


class FlakyService:
    def __init__(self) -> None:
        self.up = False
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if not self.up:
            raise ConnectionError("refused")
        return "ok"


def test_the_with_block_and_the_decorator_open_and_close_one_shared_circuit(fake_redis, monkeypatch):
    monkeypatch.setenv("CIRCUIT_FAILURE_THRESHOLD", "2")
    monkeypatch.setenv("CIRCUIT_RESET_SECONDS", "1")
    service = FlakyService()
    guard = Circuit("svc", connection=fake_redis)
    decorated = Circuit("svc", connection=fake_redis)(service)
    for _ in range(2):
        with pytest.raises(ConnectionError), guard:
            service()
    with pytest.raises(CircuitOpen) as refused:
        decorated()
    assert service.calls == 2  # refused without calling
    assert 0 < refused.value.retry_after <= 1 and refused.value.delay == refused.value.retry_after
    assert refused.value.circuit == "svc"
    fake_redis.hset(DlqKeys(PREFIX).circuit("svc"), "open_until", 0)  # time passes
    service.up = True
    assert decorated() == "ok"
    with guard:
        assert service() == "ok"
    assert service.calls == 4


def test_circuit_open_survives_pickling_as_rq_stores_exceptions():
    import pickle

    error = pickle.loads(pickle.dumps(CircuitOpen("svc", 12.5)))
    assert error.circuit == "svc" and error.retry_after == 12.5
