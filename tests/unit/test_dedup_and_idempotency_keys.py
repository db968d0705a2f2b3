"""Key derivation: dedup job ids and idempotency keys (pure), and bad keys refused before any write."""

from __future__ import annotations

import pytest
from rq.job import validate_job_id

from failure_handlers.idempotency import IdempotencyKeyError, dedup_job_id, idempotency_of, idempotent
from failure_handlers.integration import RetryingQueue
from worker_tasks import add, enqueue


def test_the_same_function_and_key_give_the_same_job_id():
    assert dedup_job_id(add, "invoice:42") == dedup_job_id("worker_tasks.example_tasks.add", "invoice:42")


def test_the_job_id_is_readable_and_valid_for_rq():
    job_id = dedup_job_id(add, "invoice:42")
    assert job_id.startswith("dedup-invoice_42-") and len(job_id) == len("dedup-invoice_42-") + 32
    validate_job_id(job_id)


@pytest.mark.parametrize("key", ["invoice 42/ü", "*", "\x00\x01", "a" * 200, "../../etc", "日本"])
def test_any_key_gives_a_valid_job_id(key):
    validate_job_id(dedup_job_id(add, key))


def test_keys_that_sanitize_alike_still_differ():
    assert dedup_job_id(add, "invoice:42") != dedup_job_id(add, "invoice/42")
    assert dedup_job_id(add, "k") != dedup_job_id("other.module.add", "k")


@pytest.mark.parametrize("key", ["", "   ", "x" * 201, 42, b"bytes"])
def test_bad_dedup_keys_raise_value_error_and_write_nothing(key, fake_redis):
    with pytest.raises(ValueError, match="dedup_key"):
        enqueue(add, 1, 2, dedup_key=key, connection=fake_redis)
    with pytest.raises(ValueError, match="dedup_key"):
        RetryingQueue("default", connection=fake_redis).enqueue(add, 1, 2, dedup_key=key)
    assert fake_redis.keys("*") == []


def test_dedup_key_and_a_different_job_id_are_refused(fake_redis):
    with pytest.raises(ValueError, match="not both"):
        enqueue(add, 1, 2, dedup_key="k", job_id="mine", connection=fake_redis)
    assert fake_redis.keys("*") == []


def test_a_second_enqueue_returns_the_first_job(fake_redis, log_messages):
    first = enqueue(add, 1, 2, dedup_key="invoice:42", connection=fake_redis)
    second = enqueue(add, 1, 2, dedup_key="invoice:42", connection=fake_redis)
    other = enqueue(add, 1, 2, dedup_key="invoice:43", connection=fake_redis)
    assert second.id == first.id != other.id
    assert fake_redis.llen("rq:queue:default") == 2
    assert any("deduplicated" in message and "invoice:42" in message for message in log_messages)


@idempotent(key="invoice:{invoice_id}:{currency}")
def charge(invoice_id, amount, currency="EUR"):
    return amount


@idempotent(key=lambda order, **_: f"order:{order['id']}")
def ship(order, express=False):
    return order["id"]


def test_a_format_key_sees_positional_keyword_and_default_arguments():
    options = idempotency_of(charge)
    assert options.func_name == f"{__name__}.charge"
    assert options.key_for((42, 100), {}) == "invoice:42:EUR"
    assert options.key_for((), {"invoice_id": 7, "amount": 1, "currency": "USD"}) == "invoice:7:USD"


def test_a_callable_key_gets_the_call_arguments():
    assert idempotency_of(ship).key_for(({"id": 9},), {"express": True}) == "order:9"


@pytest.mark.parametrize(
    "call",
    [((), {}), ((1, 2), {"unknown": 3})],
    ids=["missing argument", "unexpected argument"],
)
def test_a_key_that_cannot_be_built_is_a_permanent_error(call):
    with pytest.raises(IdempotencyKeyError, match="cannot build the idempotency key"):
        idempotency_of(charge).key_for(*call)


@pytest.mark.parametrize("produced", ["", "x" * 201, "tab\tin key", 42])
def test_an_unusable_key_is_a_permanent_error(produced):
    @idempotent(key=lambda: produced)
    def task():
        return None

    with pytest.raises(IdempotencyKeyError):
        idempotency_of(task).key_for((), {})


@pytest.mark.parametrize("options", [{"key": ""}, {"key": 3}, {"key": "k", "ttl": 0}, {"key": "k", "lock_ttl": -1}])
def test_bad_decorator_options_are_refused_at_import(options):
    with pytest.raises(ValueError):
        idempotent(**options)
