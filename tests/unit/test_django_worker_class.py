"""`failure_handlers.contrib.django.Worker` (django-rq's `WORKER_CLASS`): it sets up our logging when it starts
working, warns when `RQ_EXCEPTION_HANDLERS` lacks `record_failure`, and stops on a bad setting. No Django
needed: it is RQ's `Worker`."""

from __future__ import annotations

import pytest
from rq import Queue

from failure_handlers import runtime
from failure_handlers.contrib.django import worker as django_worker
from failure_handlers.integration import record_failure


@pytest.fixture
def configured(monkeypatch) -> list[object]:
    """The settings `configure_logging` was called with (not called for real: it replaces the test's sinks)."""
    calls: list[object] = []
    monkeypatch.setattr(django_worker, "configure_logging", calls.append)
    return calls


def work(fake_redis, **options) -> None:
    django_worker.Worker([Queue("default", connection=fake_redis)], connection=fake_redis, **options).work(burst=True)


def test_it_sets_up_logging_and_warns_without_the_exception_handler(fake_redis, configured, log_messages):
    work(fake_redis)
    assert configured == [runtime.settings()]
    assert [m for m in log_messages if "RQ_EXCEPTION_HANDLERS does not name" in m][0].startswith("WARNING")


def test_with_the_exception_handler_it_does_not_warn(fake_redis, configured, log_messages):
    work(fake_redis, exception_handlers=[record_failure])
    assert len(configured) == 1 and not [m for m in log_messages if "RQ_EXCEPTION_HANDLERS" in m]


def test_a_bad_setting_stops_it_with_one_line(fake_redis, configured, monkeypatch, capsys):
    monkeypatch.setenv("RETRY_INTERVALS", "abc")
    runtime.settings.cache_clear()
    with pytest.raises(SystemExit) as stopped:
        work(fake_redis)
    assert stopped.value.code == 2 and configured == []
    err = capsys.readouterr().err
    assert err.startswith("error: RETRY_INTERVALS='abc'") and len(err.splitlines()) == 1
