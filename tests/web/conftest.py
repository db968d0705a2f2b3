"""Dashboard tests: the Flask test client on the real server of the integration tests.

`dashboard(**env)` builds the standalone app with `TEST_ENV` plus `env` (DASHBOARD_* settings)
on the test's empty database; `page_post` sends a page form the way a browser on the same origin
does (Origin header, the CSRF token taken from a rendered page).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from redis import Redis
from werkzeug.test import TestResponse

from benchmarks.synthetic import make_failed_jobs
from failure_handlers.config import parse_settings
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.web import create_app
from tests.conftest import TEST_ENV
from tests.integration.conftest import redis, redis_url, worker  # noqa: F401 - the real-server fixtures

pytestmark = pytest.mark.integration

ORIGIN = "http://localhost"  # the test client's host
USER, PASSWORD = "ops", "correct horse battery"
TOKEN = "tok-" + "a1b2c3d4" * 4
WEEK = 7 * 86400  # retention in these tests, so that entries hours or days old still count
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def dlq(redis: Redis) -> DeadLetterQueue:  # noqa: F811 - fixture from conftest
    return DeadLetterQueue(redis, TEST_ENV["DLQ_PREFIX"], WEEK)


@pytest.fixture
def dashboard(redis: Redis, redis_url: str) -> Callable[..., FlaskClient]:  # noqa: F811 - fixture from conftest
    def make(**env: str) -> FlaskClient:
        settings = parse_settings({**TEST_ENV, "DLQ_TTL_SECONDS": str(WEEK), "REDIS_URL": redis_url, **env})
        app = create_app(settings, redis)
        app.config["TESTING"] = True
        return app.test_client()

    return make


@pytest.fixture
def client(dashboard: Callable[..., FlaskClient]) -> FlaskClient:
    """No authentication configured (a loopback-only dashboard), actions enabled."""
    return dashboard()


def csrf_token(client: FlaskClient, path: str = "/failed", **kwargs: Any) -> str:
    page = client.get(path, **kwargs)
    assert page.status_code == 200, page.text[:500]
    match = _CSRF.search(page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def page_post(
    client: FlaskClient,
    path: str,
    data: dict[str, Any],
    headers: dict[str, str] | None = None,
    origin: str = ORIGIN,
    token_page: str = "/failed",
) -> TestResponse:
    """POST a page form as a same-origin browser would, with a fresh CSRF token from `token_page`
    (`headers` also go with that GET, e.g. credentials)."""
    headers = dict(headers or {})
    form = {"csrf_token": csrf_token(client, token_page, headers=headers), **data}
    return client.post(path, data=form, headers={**headers, **({"Origin": origin} if origin else {})})


def failed_jobs(connection: Redis, dlq: Any, count: int, queue: str = "billing") -> list[str]:
    """`count` jobs RQ sees as failed (hash + FailedJobRegistry) with their DLQ entries, oldest first."""
    return make_failed_jobs(connection, queue, count, dlq=dlq)


def confirm_path(response: TestResponse) -> str:
    """The confirmation page a prepare step redirected to."""
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return response.headers["Location"]
