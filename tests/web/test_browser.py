"""The dashboard in a real browser (Debian's chromium driven by Playwright) against a real
`rq-dlq web` server and a real `rq worker`: overview -> groups -> a group -> an entry -> requeue
through the confirmation step -> the job leaves the DLQ and finishes on the worker; the History
page then shows its archived dead-lettering as requeued by the dashboard.

Needs /usr/bin/chromium (`.ci/run` installs Debian's package); Playwright's own browser download
is never used. `DASHBOARD_SCREENSHOTS=docs/screenshots` also saves each page there (`make screenshots`).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from rq.job import Job

from benchmarks.synthetic import dead_entry_for
from failure_handlers.archive import database
from failure_handlers.archive.archiver import Archiver
from failure_handlers.config import parse_settings
from failure_handlers.dev.worker_process import PROJECT_ROOT
from tests.browser_tasks import export_when_ready
from tests.conftest import TEST_ENV
from tests.polling import wait_for
from tests.web.conftest import PASSWORD, USER, WEEK
from tests.web.test_server import RQ_DLQ, _answers, free_port
from worker_tasks import enqueue

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
FLAG = "browser-test:export-fixed"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no browser: /usr/bin/chromium is missing (apt-get install -y chromium)"
)


@pytest.fixture
def archive_url(tmp_path: Path) -> str:
    """An initialised SQLite failure archive (what `rq-dlq archive init` makes)."""
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    settings = parse_settings({**TEST_ENV, "ARCHIVE_URL": url}).archive
    engine = database.make_engine(settings)
    database.upgrade(engine, settings)
    engine.dispose()
    return url


@pytest.fixture
def dashboard_url(redis_url: str, redis, archive_url: str) -> Iterator[str]:
    """`rq-dlq web` on a free loopback port, with Basic auth, a week of retention, live counts and
    the failure archive."""
    port = free_port()
    env = {
        **os.environ, **TEST_ENV, "REDIS_URL": redis_url, "DASHBOARD_PORT": str(port), "DLQ_TTL_SECONDS": str(WEEK),
        "DASHBOARD_AUTH": f"{USER}:{PASSWORD}", "DASHBOARD_REFRESH_SECONDS": "2", "ARCHIVE_URL": archive_url,
    }  # fmt: skip
    process = subprocess.Popen([RQ_DLQ, "web"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or _answers_with_auth(base), 20, "the dashboard to listen")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


@contextmanager
def dashboard_with_users(redis_url: str, users: str) -> Iterator[str]:
    """`rq-dlq web` with DASHBOARD_USERS=`users` on a free port, its base URL while it runs."""
    port = free_port()
    env = {
        **os.environ, **TEST_ENV, "REDIS_URL": redis_url, "DASHBOARD_PORT": str(port), "DLQ_TTL_SECONDS": str(WEEK),
        "DASHBOARD_USERS": users,
    }  # fmt: skip
    process = subprocess.Popen([RQ_DLQ, "web"], cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: process.poll() is not None or _answers_with_auth(base), 20, "the dashboard to listen")
        assert process.poll() is None
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)


def _answers_with_auth(base: str) -> bool:
    return _answers(base) or _status(base) == 401


def _status(base: str) -> int:
    import requests

    try:
        return requests.get(base + "/api/stats", timeout=1).status_code
    except requests.ConnectionError:
        return 0


def seed_history(dlq) -> None:
    """A week of realistic failures in four groups, so the charts and tables have something to show."""
    now = time.time()
    entries = []
    for n in range(240):
        hours_ago = (n * 7.3) % (7 * 24) if n % 3 else (n * 0.37) % 24
        entries.append(dead_entry_for(None, n, failed_at=now - hours_ago * 3600 - 60))
    dlq.add_many(entries)


def test_requeue_from_the_browser_until_the_job_finishes(dashboard_url, dlq, redis, worker, tmp_path, archive_url):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    seed_history(dlq)
    worker("default", DLQ_TTL_SECONDS=str(WEEK), ARCHIVE_URL=archive_url)  # the handler trims by its own retention
    redis.delete(FLAG)
    job = enqueue(export_when_ready, FLAG, connection=redis, queue="default")
    entry = wait_for(lambda: dlq.get(job.id), 30, "the job to reach the DLQ")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    problems: list[str] = []

    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(
            http_credentials={"username": USER, "password": PASSWORD}, viewport={"width": 1440, "height": 900}
        )
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(dashboard_url + "/")
        page.wait_for_selector("#refresh-status:has-text('updated')")  # the static script ran under the CSP
        assert page.locator(".card [data-stat='total']").inner_text() == "241"
        page.screenshot(path=shots / "overview.png", full_page=True)

        page.click("text=all groups →")
        page.wait_for_url("**/groups")
        page.screenshot(path=shots / "groups.png", full_page=True)

        page.click(f"a.mono[href$='/failed?group={entry.fingerprint}']")
        page.wait_for_url(f"**/failed?group={entry.fingerprint}")
        assert "ExportNotReady" in page.inner_text(".group-label")
        page.screenshot(path=shots / "group.png", full_page=True)

        page.click(f"a[href$='/jobs/{job.id}']")
        page.wait_for_url(f"**/jobs/{job.id}")
        assert "the monthly export is not ready" in page.inner_text("pre.message")
        assert "failed" in page.inner_text("dl.fields")
        page.screenshot(path=shots / "entry.png", full_page=True)

        page.click("button[value='requeue:ids']")
        page.wait_for_url("**/confirm/*")
        assert "Requeue 1 dead job?" in page.inner_text("h1")
        assert dlq.get(job.id) is not None  # the confirmation step changed nothing
        page.screenshot(path=shots / "confirm.png", full_page=True)

        redis.set(FLAG, "1")  # the fix is deployed
        page.click("#confirm")
        page.wait_for_selector("#result-summary")
        assert page.inner_text("#result-summary").startswith("requeued 1, skipped 0, errors 0")
        page.screenshot(path=shots / "result.png", full_page=True)

        archive_settings = parse_settings({**TEST_ENV, "ARCHIVE_URL": archive_url})
        engine = database.make_engine(archive_settings.archive)
        Archiver(redis, archive_settings, engine).run_once()  # `rq-dlq archive run --once`
        engine.dispose()
        page.click("nav >> text=History")
        page.wait_for_url("**/history")
        row = page.locator("table.history tbody tr", has_text=job.id)
        assert "requeued" in row.inner_text() and f"by {USER} (dashboard, admin, 127.0.0.1)" in row.inner_text()
        assert page.inner_text("[data-outcome='requeued']") == "1"
        page.screenshot(path=shots / "history.png", full_page=True)
        browser.close()

    assert dlq.get(job.id) is None
    finished = lambda: Job.fetch(job.id, connection=redis).get_status(refresh=True) == "finished"  # noqa: E731
    wait_for(finished, 30, "the requeued job to finish on the worker")
    assert Job.fetch(job.id, connection=redis).return_value() == "exported"
    assert problems == []  # no script error, no CSP violation
    target = os.environ.get("DASHBOARD_SCREENSHOTS")
    if target:
        destination = PROJECT_ROOT / target
        destination.mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, destination / shot.name)
