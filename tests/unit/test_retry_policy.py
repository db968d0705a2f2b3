import pytest
import requests

from failure_handlers.errors import PermanentError
from failure_handlers.retry.policy import attempt_of, classify, qualified_name, retry_delay


class CardDeclined(PermanentError):
    pass


class AppError(Exception):
    pass


class BadOrder(AppError):
    pass


def http_error(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status} error", response=response)


def verdict_for(exc: BaseException, non_retryable=()):
    return classify(type(exc), exc, non_retryable)


def test_permanent_error_and_subclasses_are_permanent():
    assert verdict_for(PermanentError("x")).permanent
    assert verdict_for(CardDeclined("x")).permanent


def test_unknown_exceptions_are_retried():
    assert not verdict_for(RuntimeError("x")).permanent


def test_listed_builtin_is_permanent_by_bare_name():
    assert verdict_for(ValueError("x"), {"ValueError"}).permanent
    assert verdict_for(ValueError("x"), {"builtins.ValueError"}).permanent


def test_listed_base_class_makes_subclasses_permanent():
    assert verdict_for(BadOrder("x"), {qualified_name(AppError)}).permanent
    assert not verdict_for(AppError("x"), {qualified_name(BadOrder)}).permanent


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_http_client_errors_are_permanent(status):
    verdict = verdict_for(http_error(status))
    assert verdict.permanent and str(status) in verdict.reason


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_http_timeouts_rate_limits_and_server_errors_are_retried(status):
    assert not verdict_for(http_error(status)).permanent


@pytest.mark.parametrize(
    "exc",
    [requests.ConnectionError("refused"), requests.Timeout("slow"), requests.HTTPError("no response")],
)
def test_network_errors_are_retried(exc):
    assert not verdict_for(exc).permanent


def test_missing_exception_type_is_not_permanent():
    assert not classify(None, None).permanent


@pytest.mark.parametrize(
    ("intervals", "retries_left", "delay"),
    [
        ([30, 60, 120], 3, 30),
        ([30, 60, 120], 2, 60),
        ([30, 60, 120], 1, 120),
        ([2, 4], 3, 2),  # shorter list: aligned to the end, the first value repeats
        ([2, 4], 2, 2),
        ([2, 4], 1, 4),
        ([5], 3, 5),
        ([], 3, 0),
        (None, 2, 0),
        ([30, 60, 120], 0, 0),
    ],
)
def test_retry_delay_matches_rq(intervals, retries_left, delay):
    assert retry_delay(intervals, retries_left) == delay


@pytest.mark.parametrize(
    ("max_retries", "retries_left", "number", "total", "last"),
    [
        (3, 3, 1, 4, False),
        (3, 2, 2, 4, False),
        (3, 1, 3, 4, False),
        (3, 0, 4, 4, True),
        (None, None, 1, 1, True),  # no Retry: one run
        (0, None, 1, 1, True),
        (None, 2, 1, 3, False),  # budget unknown: what is left is the budget
    ],
)
def test_attempt_numbering(max_retries, retries_left, number, total, last):
    attempt = attempt_of(max_retries, retries_left)
    assert (attempt.number, attempt.total, attempt.is_last) == (number, total, last)
