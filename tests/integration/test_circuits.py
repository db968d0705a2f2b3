"""Circuit breakers on real `rq worker` processes: a down service opens the circuit, no call reaches
it while open, the probe closes it when the service is back; their cost in round trips; the CLI."""

from __future__ import annotations

import json

import pytest
from rq import Retry
from rq.job import JobStatus

from failure_handlers.circuits import Circuit, CircuitOpen, list_circuits
from failure_handlers.dev.http_stub import stub_service
from failure_handlers.dev.round_trips import RoundTrips, counting_client
from failure_handlers.storage.keys import DlqKeys
from tests.conftest import TEST_ENV
from tests.integration.conftest import assert_one_line_error, run_script
from tests.polling import wait_for
from worker_tasks import enqueue, send_webhook
from worker_tasks.webhooks import circuit_name

CIRCUIT_ENV = {"CIRCUIT_FAILURE_THRESHOLD": "3", "CIRCUIT_WINDOW_SECONDS": "60", "CIRCUIT_RESET_SECONDS": "3"}


def circuits_json(env=None):
    result = run_script("scripts/dlq.py", "circuits", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {state["name"]: state for state in json.loads(result.stdout)}


def open_circuits(redis):
    seconds, micros = redis.time()
    states = list_circuits(redis, DlqKeys(TEST_ENV["DLQ_PREFIX"]), seconds + micros / 1e6)
    return [state.name for state in states if state.state == "open"]


def exc_types(job):
    job.refresh()
    return [failure["exc_type"] for failure in job.meta.get("failures", [])]


def test_a_down_service_opens_the_circuit_and_its_return_closes_it(redis, worker):
    with stub_service() as service:
        name = circuit_name("127.0.0.1", int(service.url.rsplit(":", 1)[1]))
        worker(**CIRCUIT_ENV)
        down = [enqueue(send_webhook, f"{service.url}/hook", {"n": n}, retry=None) for n in range(3)]
        wait_for(lambda: all(job.get_status() == JobStatus.FAILED for job in down), 20, "3 failed webhooks")
        # While open (for 3 s): jobs fail fast with CircuitOpen, none reaches the service.
        refused = enqueue(send_webhook, f"{service.url}/hook", {"n": 3}, retry=None)
        retried = enqueue(send_webhook, f"{service.url}/hook", {"n": 4}, retry=Retry(max=8, interval=1))
        wait_for(lambda: refused.get_status() == JobStatus.FAILED, 20, "the refused webhook to fail")
        wait_for(lambda: exc_types(retried), 20, "the retried webhook's first failure")
        assert "CircuitOpen" in refused.latest_result().exc_string
        assert exc_types(retried)[0] == "failure_handlers.errors.CircuitOpen"
        assert service.requests == 3, "a call reached the service while the circuit was open"
        assert open_circuits(redis) == [name]  # read in-process: the probe is due 3 s after opening

        # The service comes back: after CIRCUIT_RESET_SECONDS one probe goes through and closes it.
        service.healthy = True
        wait_for(lambda: retried.get_status() == JobStatus.FINISHED, 20, "the retried webhook to succeed")
        assert service.requests == 4  # the probe only
        assert set(exc_types(retried)) == {"failure_handlers.errors.CircuitOpen"}
        assert retried.return_value()["idempotency_key"] == retried.id
        state = circuits_json()[name]
        assert state["state"] == "closed" and state["failures"] == 0

        after = enqueue(send_webhook, f"{service.url}/hook", {"n": 5}, retry=None)
        wait_for(lambda: after.get_status() == JobStatus.FINISHED, 20, "a webhook on the closed circuit")
        assert service.requests == 5


def test_a_client_error_is_permanent_and_does_not_count_against_the_circuit(redis, worker):
    with stub_service() as service:
        worker(**CIRCUIT_ENV)
        job = enqueue(send_webhook, "http://127.0.0.1:1/hook", {}, retry=None)  # connection refused: counts
        bad = enqueue(send_webhook, "ftp://example.com/x", {})
        wait_for(lambda: {job.get_status(), bad.get_status()} == {JobStatus.FAILED}, 20, "both to fail")
        assert exc_types(bad) == ["worker_tasks.webhooks.InvalidWebhook"]  # permanent: one run
        assert service.requests == 0
        assert circuits_json()["webhook:127.0.0.1:1"]["failures"] == 1


def test_one_round_trip_for_a_closed_success_two_for_a_failure_one_when_refused(redis, redis_url):
    client = counting_client(redis_url)
    Circuit("warm-up", connection=client).__enter__()  # the server learns the script (EVAL once)
    guard = Circuit("payments-api", failures=2, window=60, reset=30, connection=client)

    def cost(action):
        before = RoundTrips.count
        action()
        return RoundTrips.count - before

    def succeed():
        with guard:
            pass

    def fail():
        with pytest.raises(ConnectionError), guard:
            raise ConnectionError("down")

    def refused():
        with pytest.raises(CircuitOpen), guard:
            raise AssertionError("the call must not be made")

    assert cost(succeed) == 1
    assert cost(fail) == 2
    assert cost(fail) == 2  # this one opens the circuit
    assert cost(refused) == 1


def test_rq_dlq_circuits_prints_a_table(redis):
    guard = Circuit("payments-api", failures=1, window=60, reset=30, connection=redis)
    with pytest.raises(ConnectionError), guard:
        raise ConnectionError("down")
    result = run_script("scripts/dlq.py", "circuits")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "payments-api" in line)
    assert "open" in row and "1/1 in 60 s" in row and "s from now" in row


@pytest.mark.parametrize(
    ("name", "value"),
    [("CIRCUIT_FAILURE_THRESHOLD", "0"), ("CIRCUIT_WINDOW_SECONDS", "soon"), ("CIRCUIT_RESET_SECONDS", "-5")],
)
def test_a_bad_circuit_setting_is_one_line_and_exit_2(redis, name, value):
    assert_one_line_error(run_script("scripts/dlq.py", "circuits", env={name: value}), name)


def test_the_circuit_state_is_shared_through_redis_not_the_process(redis):
    first = Circuit("shared", failures=1, window=60, reset=30, connection=redis)
    second = Circuit("shared", failures=1, window=60, reset=30, connection=redis)
    with pytest.raises(ConnectionError), first:
        raise ConnectionError("down")
    with pytest.raises(CircuitOpen), second:
        pass
