"""The dashboard mounted in an existing Flask app, behind the host app's own login: the README's
"Flask" block as written, plus the host's login view, on the real server."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, redirect, request, session

from tests.readme_blocks import section_blocks
from tests.web.conftest import ORIGIN, failed_jobs

PREFIX = "/ops/dlq"
_LINKS = re.compile(r'(?:href|src|action)="(/[^"]*)"')


@pytest.fixture
def host(redis, monkeypatch) -> Flask:
    """The README's host app (its blueprint reads REDIS_URL from the environment), with a login view."""
    monkeypatch.setenv("TRACE_URL_TEMPLATE", "https://tempo.example/trace/{trace_id}")
    namespace: dict = {"__name__": "host_app"}
    exec(compile(section_blocks("Flask")[0], "README.md (Flask)", "exec"), namespace)  # noqa: S102 - our README
    app: Flask = namespace["app"]

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            session["user"] = request.form["user"]
            return redirect(request.args.get("next") or "/")
        return "the host's login form"

    app.config["TESTING"] = True
    return app


def logged_in(app: Flask):
    client = app.test_client()
    assert client.post("/login", data={"user": "alice"}).status_code == 302
    return client


@pytest.mark.parametrize("path", ["/", "/failed", "/groups", "/api/failed-jobs", "/metrics", "/static/dashboard.css"])
def test_without_the_hosts_login_every_dlq_address_goes_to_it(host, dlq, redis, path):
    failed_jobs(redis, dlq, 1)
    response = host.test_client().get(PREFIX + path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login" and parse_qs(location.query)["next"] == [f"{PREFIX}{path}?"]
    assert "dead" not in response.text.lower()


def test_logged_in_the_pages_links_and_assets_live_under_the_prefix(host, dlq, redis):
    job_id = failed_jobs(redis, dlq, 1)[0]
    redis.hset(f"test:dlq:entry:{job_id}", mapping={"trace_id": "ab" * 16, "span_id": "cd" * 8})
    client = logged_in(host)

    overview = client.get(f"{PREFIX}/")
    assert overview.status_code == 200
    links = set(_LINKS.findall(overview.text))
    assert links and all(link.startswith(f"{PREFIX}/") for link in links), sorted(links)
    for asset in ("dashboard.css", "dashboard.js", "favicon.svg"):
        assert f"{PREFIX}/static/{asset}" in links
        assert client.get(f"{PREFIX}/static/{asset}").status_code == 200

    listing = client.get(f"{PREFIX}/failed")
    assert listing.status_code == 200 and f"{PREFIX}/jobs/{job_id}" in listing.text
    entry = client.get(f"{PREFIX}/jobs/{job_id}")
    assert entry.status_code == 200
    assert f'href="https://tempo.example/trace/{"ab" * 16}"' in entry.text  # TRACE_URL_TEMPLATE
    assert all(link.startswith(f"{PREFIX}/") for link in _LINKS.findall(entry.text))

    api = client.get(f"{PREFIX}/api/failed-jobs")
    assert api.status_code == 200 and [item["job_id"] for item in api.get_json()["entries"]] == [job_id]
    assert api.get_json()["entries"][0]["trace_id"] == "ab" * 16


def test_logged_in_a_requeue_goes_through_the_prefixed_confirmation(host, dlq, redis):
    job_id = failed_jobs(redis, dlq, 1)[0]
    client = logged_in(host)
    page = client.get(f"{PREFIX}/jobs/{job_id}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    prepared = client.post(
        f"{PREFIX}/actions/prepare",
        data={"csrf_token": token, "ids": job_id, "do": "requeue:ids"},
        headers={"Origin": ORIGIN},
    )
    assert prepared.status_code == 303 and prepared.headers["Location"].startswith(f"{PREFIX}/confirm/")
    confirm = client.get(prepared.headers["Location"])
    assert confirm.status_code == 200
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', confirm.text).group(1)
    done = client.post(prepared.headers["Location"], data={"csrf_token": form_token}, headers={"Origin": ORIGIN})
    assert done.status_code in (200, 303), done.text[:300]
    assert dlq.get(job_id) is None


def test_the_standalone_app_under_a_path_of_a_plain_wsgi_server(redis, redis_url, dlq):
    """Any WSGI stack: the standalone app mounted at /dlq by werkzeug's DispatcherMiddleware."""
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    from failure_handlers.config import parse_settings
    from failure_handlers.web import create_app
    from tests.conftest import TEST_ENV

    job_id = failed_jobs(redis, dlq, 1)[0]
    dashboard = create_app(parse_settings({**TEST_ENV, "REDIS_URL": redis_url}), redis)
    site = DispatcherMiddleware(Response("the host site"), {"/dlq": dashboard})
    client = Client(site)

    listing = client.get("/dlq/failed")
    assert listing.status_code == 200 and f"/dlq/jobs/{job_id}" in listing.text
    assert all(link.startswith("/dlq/") for link in _LINKS.findall(listing.text))
    assert client.get("/dlq/static/dashboard.css").status_code == 200
    assert client.get("/").text == "the host site"
