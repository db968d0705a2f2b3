"""Roles and the Activity page in a real browser (Debian's chromium through Playwright) against a real
`rq-dlq web`: a viewer sees no action button and its forged POST gets 403; an admin deletes through
the confirmation step; the Activity page then lists that delete and a purge from the CLI, by whom."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from benchmarks.synthetic import make_failed_jobs
from failure_handlers.audit.actor import os_user
from failure_handlers.dev.worker_process import PROJECT_ROOT
from failure_handlers.web.users import hash_password
from tests.integration.conftest import run_script
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, dashboard_with_users

PASSWORD = "correct horse battery"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no browser: /usr/bin/chromium is missing (apt-get install -y chromium)"
)


@pytest.fixture
def dashboard_url(redis_url: str, redis) -> Iterator[str]:
    hashed = hash_password(PASSWORD)
    with dashboard_with_users(redis_url, f"user vera viewer {hashed}; user ada admin {hashed}") as base:
        yield base


def test_a_viewer_sees_no_action_and_the_activity_page_lists_who_did_what(dashboard_url, dlq, redis, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    deleted, kept, *mail = make_failed_jobs(redis, "billing", 2, dlq=dlq) + make_failed_jobs(redis, "mail", 2, dlq=dlq)
    problems: list[str] = []

    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def signed_in(user: str):
            context = browser.new_context(http_credentials={"username": user, "password": PASSWORD})
            page = context.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            return page

        viewer = signed_in("vera")
        viewer.goto(f"{dashboard_url}/failed")
        assert viewer.locator("table.entries tbody tr").count() == 4
        assert viewer.locator("button[name='do']").count() == 0 and viewer.locator("input[name='ids']").count() == 0
        assert "vera · viewer" in viewer.inner_text("header")
        viewer.goto(f"{dashboard_url}/jobs/{deleted}")
        assert viewer.locator("button[name='do']").count() == 0
        # A forged POST from the viewer's own page (same origin, its credentials): refused by the server.
        status = viewer.evaluate(
            """async (id) => (await fetch(location.origin + '/actions/prepare', {
                method: 'POST', body: new URLSearchParams({do: 'delete:ids', ids: id})})).status""",
            deleted,
        )
        assert status == 403 and dlq.get(deleted) is not None

        admin = signed_in("ada")
        admin.goto(f"{dashboard_url}/jobs/{deleted}")
        admin.click("button[value='delete:ids']")
        admin.wait_for_url("**/confirm/*")
        admin.click("#confirm")
        admin.wait_for_selector("text=deleted 1, skipped 0, errors 0")
        assert dlq.get(deleted) is None and dlq.get(kept) is not None

        purge = run_script("scripts/dlq.py", "purge", "--queue", "mail", "--yes")
        assert purge.returncode == 0, purge.stderr

        viewer.goto(f"{dashboard_url}/activity")
        rows = viewer.locator("table.activity tbody tr")
        assert rows.count() == 2
        newest, older = rows.nth(0).inner_text(), rows.nth(1).inner_text()
        assert "purge" in newest and os_user() in newest and "queue=mail" in newest and "2 jobs" in newest
        assert "delete" in older and "ada" in older and "admin" in older and deleted in older and "ok" in older
        viewer.set_viewport_size({"width": 1440, "height": 700})
        viewer.screenshot(path=tmp_path / "activity.png", full_page=True)
        viewer.fill("input[name='actor']", "ada")
        viewer.click("text=Filter")
        viewer.wait_for_url("**/activity?*actor=ada*")
        assert viewer.locator("table.activity tbody tr").count() == 1
        browser.close()
    assert problems == []
    if target := os.environ.get("DASHBOARD_SCREENSHOTS"):  # `make screenshots`
        (PROJECT_ROOT / target).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "activity.png", PROJECT_ROOT / target / "activity.png")
