"""`rq-dlq` with `REDIS_URL` unset reads the default server: it says so on stderr, in one line."""

from __future__ import annotations

import pytest

from failure_handlers import runtime
from failure_handlers.cli import operator as operator_edge
from failure_handlers.cli import rq_dlq
from failure_handlers.errors import RedisUnavailable


@pytest.fixture
def no_server(monkeypatch):
    """No connection is ever made (the default URL is the machine's shared server): `connect` refuses."""
    urls: list[str | None] = []

    def refuse(url):
        urls.append(url)
        raise RedisUnavailable("not connecting in a unit test")

    monkeypatch.setattr(runtime, "connect", refuse)
    monkeypatch.setattr(operator_edge, "_noted_default_url", False)
    return urls


def rq_dlq_list(capsys) -> tuple[int, list[str]]:
    with pytest.raises(SystemExit) as stopped:
        operator_edge.run(rq_dlq, ["list"])
    return stopped.value.code, capsys.readouterr().err.splitlines()


def test_an_unset_redis_url_is_said_in_one_line_before_the_default_server_is_read(capsys, no_server):
    status, err = rq_dlq_list(capsys)
    assert status == 2 and no_server == [None]
    assert err == ["note: REDIS_URL is not set: using redis://localhost:6379/0", "error: not connecting in a unit test"]


def test_a_set_redis_url_says_nothing_more(capsys, monkeypatch, no_server):
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6380/2")
    status, err = rq_dlq_list(capsys)
    assert status == 2 and no_server == ["redis://cache.internal:6380/2"]
    assert err == ["error: not connecting in a unit test"]
