"""Under pytest-xdist, each test process flushes a database of TEST_REDIS_URL of its own."""

from __future__ import annotations

import pytest

from tests.integration.conftest import database_of_this_process


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://127.0.0.1:6379/13", "", "redis://127.0.0.1:6379/13"),
        ("redis://127.0.0.1:6379/13", "gw0", "redis://127.0.0.1:6379/13"),
        ("redis://127.0.0.1:6379/13", "gw1", "redis://127.0.0.1:6379/14"),
        ("redis://:pw@127.0.0.1:6379", "gw1", "redis://:pw@127.0.0.1:6379/1"),
        ("rediss://h:6380/2?ssl_cert_reqs=none", "gw3", "rediss://h:6380/5?ssl_cert_reqs=none"),
    ],
)
def test_process_n_uses_the_urls_database_plus_n(url: str, worker: str, expected: str) -> None:
    assert database_of_this_process(url, worker) == expected


def test_a_database_past_15_stops_the_run() -> None:
    with pytest.raises(pytest.exit.Exception, match="past 15"):
        database_of_this_process("redis://h/15", "gw1")
