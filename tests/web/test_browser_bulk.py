"""An incident in a real browser (Debian's chromium through Playwright) against a real `rq-dlq web`,
signed in as an operator: requeue 2,000 dead jobs by filter in the background, paced, and watch the
progress bar go to the end; fix and replay another job; pause its queue; the Activity page then
lists the three, by that operator."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from rq import Queue

from benchmarks.synthetic import make_failed_jobs
from failure_handlers.queues.pause import paused_queues
from failure_handlers.web.users import hash_password
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, dashboard_with_users

PASSWORD = "correct horse battery"
COUNT = 2_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no browser: /usr/bin/chromium is missing (apt-get install -y chromium)"
)


@pytest.fixture
def dashboard_url(redis_url: str, redis) -> Iterator[str]:
    with dashboard_with_users(redis_url, f"user otto operator {hash_password(PASSWORD)}") as base:
        yield base


def bar_value(page) -> int | None:
    """The progress bar's value now (None while the page reloads)."""
    try:
        return int(page.evaluate("document.getElementById('bulk-bar').value"))
    except Exception:  # noqa: BLE001 - the page is between two documents
        return None


def test_an_operator_requeues_2000_by_filter_with_progress_and_the_activity_page_lists_it(dashboard_url, dlq, redis):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    ids = make_failed_jobs(redis, "billing", COUNT, dlq=dlq)
    (fixed,) = make_failed_jobs(redis, "mail", 1, dlq=dlq)
    # Synthetic jobs were never enqueued, which is what registers a queue with RQ (the Queues page lists those).
    redis.sadd(Queue.redis_queues_keys, Queue("billing", connection=redis).key)
    problems: list[str] = []

    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(http_credentials={"username": "otto", "password": PASSWORD})
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(f"{dashboard_url}/failed?queue=billing")
        page.click("button[value='requeue:filter']")
        page.wait_for_url("**/confirm/*")
        assert "Requeue 2,000 dead jobs?" in page.inner_text("h1") and "in the background" in page.inner_text("body")
        page.fill("input[name='rate']", "500")  # paced: about 4 s, so the bar is seen moving
        page.click("#confirm")
        page.wait_for_url("**/bulk/*")
        seen = []
        deadline = time.monotonic() + 60
        while page.locator("#bulk-summary").count() == 0 and time.monotonic() < deadline:
            if (value := bar_value(page)) is not None and (not seen or seen[-1] != value):
                seen.append(value)
            time.sleep(0.05)
        assert page.inner_text("#bulk-summary").startswith(f"requeued {COUNT}, skipped 0, errors 0")
        assert bar_value(page) == COUNT and page.inner_text("#bulk-percent") == "100 %"
        assert any(0 < value < COUNT for value in seen), seen  # it moved on the way, not only at the end
        assert seen == sorted(seen)
        assert dlq.count() == 1 and Queue("billing", connection=redis).count == COUNT

        page.goto(f"{dashboard_url}/jobs/{fixed}")
        page.locator("#replay textarea[name='kwargs']").fill('{"priority": "high", "api_key": "k-123"}')
        page.click("#replay-review")
        page.click("#replay-run")
        page.wait_for_selector("#result-summary")
        assert page.inner_text("#result-summary").startswith(f"requeued {fixed}")

        page.click("nav >> text=Queues")
        page.wait_for_url("**/queues")
        row = page.locator("tr[data-queue='billing']")
        row.locator("input[name='reason']").fill("downstream still recovering")
        row.locator("button", has_text="Pause").click()
        page.wait_for_url("**/queues")
        assert "billing" in paused_queues(redis, dlq.keys)

        page.click("nav >> text=Activity")
        page.wait_for_url("**/activity")
        rows = page.locator("table.activity tbody tr")
        assert rows.count() == 3
        pause, replay, requeue = (rows.nth(n).inner_text() for n in range(3))
        assert "pause" in pause and "billing" in pause and "otto" in pause
        assert "replay" in replay and fixed in replay and "otto" in replay
        assert "requeue" in requeue and "2,000 jobs" in requeue and "queue=billing" in requeue and "ok" in requeue
        assert "otto" in requeue and "operator" in requeue
        browser.close()
    assert problems == []
    assert set(Queue("billing", connection=redis).job_ids) == set(ids)
