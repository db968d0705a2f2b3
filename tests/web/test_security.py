"""Every security rule of the dashboard, on the server: credentials, tokens, CSRF, same origin,
no state change on GET, read-only, the CSP, and secrets that are never shown."""

from __future__ import annotations

import base64
import re

import pytest
from flask import Flask
from flask_wtf.csrf import CSRFProtect

from failure_handlers.config import parse_settings
from failure_handlers.web import create_app, create_blueprint, security
from tests.conftest import TEST_ENV
from tests.factories import dead_entry
from tests.web.conftest import ORIGIN, PASSWORD, TOKEN, USER, confirm_path, csrf_token, failed_jobs, page_post

AUTH_ENV = {"DASHBOARD_AUTH": f"{USER}:{PASSWORD}", "DASHBOARD_API_TOKEN": TOKEN}
PAGES = ("/", "/groups", "/failed", "/jobs/a", "/static/dashboard.css")
API_READS = ("/api/failed-jobs", "/api/failed-jobs/a", "/api/stats", "/api/groups", "/api/failed-jobs.csv")
WRITES = ("/api/failed-jobs/requeue", "/api/failed-jobs/delete")


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


GOOD = basic(USER, PASSWORD)
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def protected(dashboard, dlq):
    dlq.add(dead_entry("a"))
    return dashboard(**AUTH_ENV)


def test_pages_need_basic_credentials(protected):
    for path in PAGES:
        missing = protected.get(path)
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Basic "), path
        for wrong in (basic(USER, "wrong"), basic("root", PASSWORD), BEARER, {"Authorization": "Basic !!!"}):
            assert protected.get(path, headers=wrong).status_code == 401, (path, wrong)
        assert protected.get(path, headers=GOOD).status_code == 200, path


def test_api_reads_need_basic_credentials_or_the_token(protected):
    for path in API_READS:
        missing = protected.get(path)
        assert missing.status_code == 401 and missing.is_json and "WWW-Authenticate" in missing.headers, path
        wrong = protected.get(path, headers=basic(USER, "nope"))
        assert wrong.status_code == 403 and wrong.get_json()["error"] == "wrong credentials", path
        assert protected.get(path, headers={"Authorization": "Bearer not-the-token"}).status_code == 403
        assert protected.get(path, headers=GOOD).status_code == 200, path
        assert protected.get(path, headers=BEARER).status_code == 200, path


def test_api_writes_need_the_bearer_token(protected, dlq):
    body = {"ids": ["a"]}
    for path in WRITES:
        missing = protected.post(path, json=body)
        assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer"), path
        assert protected.post(path, json=body, headers=GOOD).status_code == 401  # Basic is for reading
        wrong = protected.post(path, json=body, headers={"Authorization": "Bearer " + TOKEN[:-1] + "x"})
        assert wrong.status_code == 403 and TOKEN[:-1] not in wrong.text, path
    assert dlq.count() == 1
    assert protected.post(WRITES[1], json=body, headers=BEARER).get_json()["deleted"] == 1


def test_without_a_configured_token_the_api_cannot_write(client, dlq):
    dlq.add(dead_entry("a"))
    for path in WRITES:
        refused = client.post(path, json={"ids": ["a"]}, headers=BEARER)
        assert refused.status_code == 403 and "set DASHBOARD_API_TOKEN" in refused.get_json()["error"]
    assert dlq.count() == 1


def test_secrets_are_compared_in_constant_time(protected, monkeypatch):
    calls = []
    real = security.hmac.compare_digest
    monkeypatch.setattr(security.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    protected.get("/", headers=GOOD)
    protected.get("/api/stats", headers=BEARER)
    protected.post(WRITES[0], json={"ids": ["a"], "dry_run": True}, headers=BEARER)
    assert len(calls) == 4  # user + password, token for a read, token for a write


def test_page_actions_need_a_valid_csrf_token(client, dlq, redis):
    failed_jobs(redis, dlq, 1)
    form = {"do": "requeue:filter"}
    missing = client.post("/actions/prepare", data=form, headers={"Origin": ORIGIN})
    assert missing.status_code == 400 and "The CSRF token is missing." in missing.text
    csrf_token(client)  # this browser has a session with a token now
    wrong = client.post("/actions/prepare", data={**form, "csrf_token": "forged"}, headers={"Origin": ORIGIN})
    assert wrong.status_code == 400 and "The CSRF token is invalid." in wrong.text
    confirm = confirm_path(page_post(client, "/actions/prepare", form))
    no_token = client.post(confirm, headers={"Origin": ORIGIN})
    assert no_token.status_code == 400 and dlq.count() == 1
    other_session = client.application.test_client()  # another browser: its own session, so its own token
    stolen = other_session.post(confirm, data={"csrf_token": csrf_token(client)}, headers={"Origin": ORIGIN})
    assert stolen.status_code == 400 and dlq.count() == 1
    assert "requeued 1" in page_post(client, confirm, {}).text


def test_cross_origin_page_posts_are_refused(client, dlq, redis):
    failed_jobs(redis, dlq, 1)
    form = {"do": "requeue:filter"}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"},
        {"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"},
    ):
        response = client.post("/actions/prepare", data={**form, "csrf_token": csrf_token(client)}, headers=headers)
        assert response.status_code == 403 and "cross-origin request refused" in response.text, headers
    no_origin = client.post("/actions/prepare", data={**form, "csrf_token": csrf_token(client)})
    assert no_origin.status_code == 403
    same = client.post("/actions/prepare", data={**form, "csrf_token": csrf_token(client)},
                       headers={"Referer": ORIGIN + "/failed"})  # fmt: skip
    assert same.status_code == 303
    assert dlq.count() == 1


def test_no_state_change_on_get(client, dlq, redis):
    failed_jobs(redis, dlq, 1)
    keys_before = sorted(redis.keys("*"))
    for path in ("/actions/prepare", *WRITES):
        response = client.get(path)
        assert response.status_code == 405 and "POST" in response.headers["Allow"], path
    for path in ("/actions/prepare?do=requeue:filter", "/api/failed-jobs/requeue?ids=x"):
        assert client.get(path).status_code == 405
    assert sorted(redis.keys("*")) == keys_before and dlq.count() == 1


def test_read_only_refuses_every_action_on_the_server(dashboard, dlq, redis):
    ids = failed_jobs(redis, dlq, 2)
    writable = dashboard(DASHBOARD_API_TOKEN=TOKEN)
    confirm = confirm_path(page_post(writable, "/actions/prepare", {"do": "requeue:filter"}))
    read_only = dashboard(DASHBOARD_READ_ONLY="true", DASHBOARD_API_TOKEN=TOKEN)
    html = read_only.get("/failed").text
    assert "read-only" in html and "requeue:ids" not in html and 'name="ids"' not in html
    forms = [("/actions/prepare", {"do": "requeue:filter"}), ("/actions/prepare", {"do": "delete:ids", "ids": ids})]
    for path, form in forms:
        token = csrf_token(read_only)
        refused = read_only.post(path, data={**form, "csrf_token": token}, headers={"Origin": ORIGIN})
        assert refused.status_code == 403 and "read-only" in refused.text
    assert (
        read_only.post(confirm, data={"csrf_token": csrf_token(read_only)}, headers={"Origin": ORIGIN}).status_code
        == 403
    )
    for path in WRITES:
        refused = read_only.post(path, json={"ids": ids}, headers=BEARER)
        assert refused.status_code == 403 and "DASHBOARD_READ_ONLY" in refused.get_json()["error"]
        dry = read_only.post(path, json={"ids": ids, "dry_run": True}, headers=BEARER)
        assert dry.status_code == 403
    assert dlq.count() == 2 and FailedJobRegistry_count(redis) == 2
    assert read_only.get("/api/stats").status_code == 200


def FailedJobRegistry_count(redis) -> int:  # noqa: N802 - reads like the class it counts with
    from rq.registry import FailedJobRegistry

    return FailedJobRegistry("billing", connection=redis).count


def test_every_response_has_a_csp_without_inline_scripts(client, dlq):
    dlq.add(dead_entry("a"))
    for path in (*PAGES, *API_READS, "/jobs/missing", "/failed?queue=x", "/nope", "/actions/prepare"):
        response = client.get(path)
        policy = response.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        if response.mimetype == "text/html":
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", response.text), path  # external scripts only
            assert not re.search(r"\son[a-z]+\s*=", response.text), path  # no event-handler attributes
            assert "style=" not in response.text, path


def test_redis_passwords_are_never_shown(dashboard, redis_url, dlq):
    dlq.add(dead_entry("a"))
    with_password = redis_url.replace("redis://", "redis://ops:pa55word@")
    html = create_app(parse_settings({**TEST_ENV, "REDIS_URL": with_password}), dlq.connection).test_client().get("/")
    assert "pa55word" not in html.text and "redis://ops:***@" in html.text
    down = create_app(parse_settings({**TEST_ENV, "REDIS_URL": "redis://ops:pa55word@127.0.0.1:1/0"}))
    for path in ("/", "/api/stats", "/failed"):
        response = down.test_client().get(path)
        assert response.status_code == 503 and "pa55word" not in response.text, path
        assert "redis://ops:***@127.0.0.1:1/0" in response.text, path


def test_settings_never_show_the_dashboard_secrets():
    settings = parse_settings({**AUTH_ENV, "DASHBOARD_SECRET_KEY": "k" * 40})
    assert PASSWORD not in repr(settings) and TOKEN not in repr(settings) and "k" * 40 not in repr(settings)


def test_the_blueprint_mounts_under_any_prefix_in_another_app(redis_url, dlq):
    dlq.add(dead_entry("a"))
    app = Flask("host")
    app.secret_key = "host-secret"
    CSRFProtect(app)  # the host protects its own forms; the API's bearer writes must still work
    settings = parse_settings({**TEST_ENV, "REDIS_URL": redis_url, "DASHBOARD_API_TOKEN": TOKEN})
    app.register_blueprint(create_blueprint(settings, dlq.connection), url_prefix="/ops/dlq")

    @app.get("/")
    def home() -> str:
        return "the host app"

    client = app.test_client()
    page = client.get("/ops/dlq/failed")
    assert page.status_code == 200 and 'href="/ops/dlq/jobs/a"' in page.text
    assert 'src="/ops/dlq/static/dashboard.js"' in page.text and 'data-stats-url="/ops/dlq/api/stats"' in page.text
    assert client.get("/").text == "the host app" and "Content-Security-Policy" not in client.get("/").headers
    assert client.get("/ops/dlq/api/failed-jobs").get_json()["total"] == 1
    confirm = confirm_path(
        page_post(client, "/ops/dlq/actions/prepare", {"do": "delete:ids", "ids": "a"}, token_page="/ops/dlq/failed")
    )
    assert confirm.startswith("/ops/dlq/confirm/")
    dry = client.post("/ops/dlq/api/failed-jobs/delete", json={"ids": ["a"], "dry_run": True}, headers=BEARER)
    assert dry.status_code == 200 and dry.get_json()["would_delete"] == 1


def test_the_blueprint_refuses_an_app_without_a_secret_key(redis_url):
    app = Flask("host")
    with pytest.raises(RuntimeError, match="needs app.secret_key"):
        app.register_blueprint(create_blueprint(parse_settings({**TEST_ENV, "REDIS_URL": redis_url})))
