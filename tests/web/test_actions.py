"""Page actions: prepare (fix the ids) -> confirm (states the count) -> run once on exactly those ids."""

from __future__ import annotations

from rq import Queue
from rq.registry import FailedJobRegistry

from failure_handlers.metrics.counters import read_counters
from tests.web.conftest import confirm_path, failed_jobs, page_post


def test_requeue_one_entry_through_the_confirmation_step(client, dlq, redis):
    (job_id,) = failed_jobs(redis, dlq, 1)
    confirm = confirm_path(page_post(client, "/actions/prepare", {"do": "requeue:ids", "ids": job_id}))
    page = client.get(confirm)
    assert page.status_code == 200 and "Requeue 1 dead job?" in page.text and f"job {job_id}" in page.text
    assert dlq.count() == 1  # nothing happened yet
    result = page_post(client, confirm, {})
    assert result.status_code == 200 and "requeued 1, skipped 0, errors 0" in result.text
    assert dlq.get(job_id) is None and Queue("billing", connection=redis).job_ids == [job_id]


def test_selected_entries_that_left_meanwhile_are_left_out(client, dlq, redis):
    ids = failed_jobs(redis, dlq, 3)
    dlq.delete([ids[1]])
    confirm = confirm_path(page_post(client, "/actions/prepare", {"do": "delete:ids", "ids": ids}))
    page = client.get(confirm).text
    assert "Delete 2 dead jobs?" in page and "1 of the selected jobs are no longer in the DLQ" in page
    result = page_post(client, confirm, {"keep_job": "yes"})
    assert "deleted 2, skipped 0, errors 0" in result.text
    assert dlq.count() == 0 and FailedJobRegistry("billing", connection=redis).count == 3  # RQ's jobs kept


def test_a_filter_action_is_bounded_to_the_jobs_matching_when_confirmed(client, dlq, redis):
    first = failed_jobs(redis, dlq, 3)
    confirm = confirm_path(page_post(client, "/actions/prepare", {"do": "requeue:filter", "queue": "billing"}))
    assert "Requeue 3 dead jobs?" in client.get(confirm).text and "queue=billing" in client.get(confirm).text
    later = failed_jobs(redis, dlq, 2)  # fail after the operator looked
    result = page_post(client, confirm, {})
    assert "requeued 3, skipped 0, errors 0" in result.text
    assert sorted(Queue("billing", connection=redis).job_ids) == sorted(first)
    assert {entry.job_id for entry in dlq.list()} == set(later)


def test_a_confirmation_runs_once(client, dlq, redis):
    failed_jobs(redis, dlq, 2)
    confirm = confirm_path(page_post(client, "/actions/prepare", {"do": "requeue:filter"}))
    assert "Requeue 2 dead jobs?" in client.get(confirm).text and "every dead job" in client.get(confirm).text
    assert "requeued 2" in page_post(client, confirm, {}).text
    again = page_post(client, confirm, {})
    assert again.status_code == 410 and "already used" in again.text
    assert client.get(confirm).status_code == 404
    assert Queue("billing", connection=redis).count == 2


def test_skips_and_errors_are_reported(client, dlq, redis):
    ids = failed_jobs(redis, dlq, 2)
    confirm = confirm_path(page_post(client, "/actions/prepare", {"do": "requeue:ids", "ids": ids}))
    Queue("billing", connection=redis).failed_job_registry.requeue(ids[0])  # someone else was faster
    result = page_post(client, confirm, {})
    assert "requeued 1, skipped 0, errors 1" in result.text
    assert "the job is queued, not in the failed registry" in result.text


def test_bad_action_forms_are_400_and_unknown_confirmations_404(client, dlq, redis):
    failed_jobs(redis, dlq, 1)
    assert page_post(client, "/actions/prepare", {"do": "explode:ids"}).status_code == 400
    assert page_post(client, "/actions/prepare", {"do": "requeue:ids"}).status_code == 400
    assert page_post(client, "/actions/prepare", {"do": "requeue:filter", "queue": "nope"}).status_code == 400
    assert client.get("/confirm/" + "x" * 43).status_code == 404
    assert client.get("/confirm/short").status_code == 404
    assert page_post(client, "/confirm/" + "x" * 43, {}).status_code == 410
    assert dlq.count() == 1


def test_requeue_counts_queues_within_metrics_max_label_values(dashboard, dlq, redis):
    client = dashboard(METRICS_MAX_LABEL_VALUES="1")
    failed_jobs(redis, dlq, 2, queue="billing")
    failed_jobs(redis, dlq, 1, queue="mail")
    confirm = confirm_path(page_post(client, "/actions/prepare", {"do": "requeue:filter"}))
    assert "requeued 3, skipped 0, errors 0" in page_post(client, confirm, {}).text
    assert sorted(read_counters(redis, dlq.keys)["requeued"]) == [(("billing",), 2), (("other",), 1)]
