"""Incident controls in a real browser (Debian's chromium through Playwright) against a real
`rq-dlq web` and a real `rq worker -w failure_handlers.queues.PausableWorker`: fix a dead job's
arguments on its page, review the diff, replay it, and it succeeds; pause its queue on the Queues
page while the worker runs (new jobs stay queued), resume, and the worker drains them."""

from __future__ import annotations

import time

import pytest
from rq import Queue
from rq.job import Job

from failure_handlers.queues.worker import PAUSE_POLL_SECONDS
from tests.incident_tasks import STARTED, charge, mark
from tests.polling import wait_for
from tests.web.conftest import PASSWORD, USER, WEEK
from tests.web.test_browser import CHROMIUM, CHROMIUM_ARGS, archive_url, dashboard_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="no browser: /usr/bin/chromium is missing (apt-get install -y chromium)"
)
WORKER_CLASS = ("-w", "failure_handlers.queues.PausableWorker")


def test_replay_with_edited_arguments_then_pause_and_resume(dashboard_url, dlq, redis, worker):  # noqa: F811
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    worker("billing", extra_args=WORKER_CLASS, DLQ_TTL_SECONDS=str(WEEK))
    job = Queue("billing", connection=redis).enqueue(charge, amount=-5, token="tok_1")
    wait_for(lambda: dlq.get(job.id), 30, "the job to reach the DLQ")
    problems: list[str] = []

    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(http_credentials={"username": USER, "password": PASSWORD})
        page = context.new_page()
        page.on("console", lambda message: message.type == "error" and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))

        page.goto(f"{dashboard_url}/jobs/{job.id}")
        kwargs_box = page.locator("#replay textarea[name='kwargs']")
        assert '"***"' in kwargs_box.input_value()  # prefilled with the stored (redacted) arguments
        kwargs_box.fill('{"amount": 5, "token": "***"}')
        page.click("#replay-review")
        assert "kwargs['token'] is ***" in page.inner_text("body")  # refused: the secret must be given
        assert dlq.get(job.id) is not None
        assert problems == ["Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]
        problems.clear()  # that refusal was expected

        page.goto(f"{dashboard_url}/jobs/{job.id}")
        page.locator("#replay textarea[name='kwargs']").fill('{"amount": 5, "token": "tok_1"}')
        page.click("#replay-review")
        diff = page.inner_text("#replay-diff")
        assert '-     "amount": -5,' in diff and '+     "amount": 5,' in diff
        assert dlq.get(job.id) is not None  # the review changed nothing
        page.click("#replay-run")
        page.wait_for_selector("#result-summary")
        assert page.inner_text("#result-summary").startswith(f"requeued {job.id}")
        wait_for(lambda: job.get_status(refresh=True) == "finished", 30, "the replayed job to succeed")
        assert Job.fetch(job.id, connection=redis).return_value() == "charged 5 EUR"

        page.click("nav >> text=Queues")
        page.wait_for_url("**/queues")
        row = page.locator("tr[data-queue='billing']")
        row.locator("input[name='reason']").fill("card processor down")
        row.locator("button", has_text="Pause").click()
        page.wait_for_url("**/queues")
        assert "paused" in row.locator("[data-state]").inner_text()
        queue = Queue("billing", connection=redis)
        for n in range(5):
            queue.enqueue(mark, "billing", n)
        deadline = time.monotonic() + 2 * PAUSE_POLL_SECONDS + 2
        while time.monotonic() < deadline:  # the worker runs, but takes nothing from the paused queue
            assert not redis.exists(STARTED + "billing")
            time.sleep(0.1)
        page.reload()
        assert row.locator("[data-queued]").inner_text() == "5"

        row.locator("button", has_text="Resume").click()
        page.wait_for_url("**/queues")
        assert "running" in row.locator("[data-state]").inner_text()
        wait_for(lambda: redis.scard(STARTED + "billing") == 5, 30, "the worker to drain the queue")
        wait_for(lambda: queue.count == 0, 10, "the queue to be empty")
        browser.close()
    assert problems == []
