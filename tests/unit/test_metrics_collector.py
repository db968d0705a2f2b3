"""The scrape-time collector on fakeredis: every metric family, hostile names, bounds, Redis down."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue, Retry, SimpleWorker

from failure_handlers import runtime
from failure_handlers.metrics.server import exposition, registry
from worker_tasks import enqueue


def fails():
    raise KeyError("missing")


def fails_hostile():
    error = type('Evil"}\n# TYPE x counter\nx', (Exception,), {})
    raise error("hostile")


def scrape(connection) -> dict[str, list]:
    body, content_type = exposition(registry(connection, runtime.settings()))
    assert content_type.startswith("text/plain")
    families = {}
    for family in text_string_to_metric_families(body.decode()):
        families[family.name] = [(sample.name, sample.labels, sample.value) for sample in family.samples]
    return families


def run(connection, func, queue="billing", retry=None):
    enqueue(func, queue=queue, connection=connection, retry=retry)
    SimpleWorker([Queue(queue, connection=connection)], connection=connection).work(burst=True)


def test_every_family_is_exposed_with_the_expected_values(fake_redis):
    run(fake_redis, fails, retry=Retry(max=1, interval=0))
    run(fake_redis, fails, queue="mail")
    families = scrape(fake_redis)
    assert families["rq_dlq_up"][0][2] == 1
    entries = {labels["queue"]: value for _, labels, value in families["rq_dlq_entries"]}
    assert entries == {"billing": 1, "mail": 1}
    failures = {(labels["queue"], labels["exc_type"]): value for _, labels, value in families["rq_job_failures"]}
    assert failures == {("billing", "KeyError"): 2, ("mail", "KeyError"): 1}
    reasons = {(labels["queue"], labels["reason"]) for _, labels, _ in families["rq_jobs_dead_lettered"]}
    assert reasons == {("billing", "retries_exhausted"), ("mail", "no_retries")}
    assert [value for _, _, value in families["rq_job_retries"]] == [1]
    assert families["rq_dlq_group_entries"][0][2] == 2  # one group: same error, same origin
    assert families["rq_dlq_oldest_entry_age_seconds"][0][2] >= 0
    assert families["rq_dlq_dropped"][0][2] == 0
    jobs = {(labels["queue"], labels["status"]): value for _, labels, value in families["rq_jobs"]}
    assert jobs[("billing", "failed")] == 1 and jobs[("mail", "queued")] == 0
    assert {"rq_workers", "rq_workers_success", "rq_workers_failed", "rq_workers_working_time"} <= set(families)


def test_hostile_exception_names_cannot_break_the_exposition(fake_redis):
    run(fake_redis, fails_hostile)
    families = scrape(fake_redis)  # parses: the format is intact
    (exc_type,) = {labels["exc_type"] for _, labels, _ in families["rq_job_failures"]}
    assert "\n" not in exc_type and exc_type.startswith("tests.unit.test_metrics_collector.Evil")
    assert "x" not in families  # no family injected


def test_queues_past_the_label_cap_are_summed_as_other(fake_redis, monkeypatch):
    monkeypatch.setenv("METRICS_MAX_LABEL_VALUES", "2")
    runtime.settings.cache_clear()
    for n in range(5):
        run(fake_redis, fails, queue=f"q{n}")
    families = scrape(fake_redis)
    entries = {labels["queue"]: value for _, labels, value in families["rq_dlq_entries"]}
    assert len(entries) == 3 and entries["other"] == 3 and sum(entries.values()) == 5
    failures = {labels["queue"]: value for _, labels, value in families["rq_job_failures"]}
    assert failures == {"q0": 1, "q1": 1, "other": 3}


def test_a_scrape_with_redis_down_answers_up_zero():
    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    families = scrape(down)
    assert families == {"rq_dlq_up": [("rq_dlq_up", {}, 0.0)]}


def test_the_wsgi_app_serves_the_exposition_for_any_host(fake_redis):
    from wsgiref.util import setup_testing_defaults

    from failure_handlers.metrics import wsgi_app

    run(fake_redis, fails)
    environ: dict = {"PATH_INFO": "/metrics"}
    setup_testing_defaults(environ)
    status = []
    body = b"".join(wsgi_app(fake_redis, runtime.settings())(environ, lambda code, headers: status.append(code)))
    assert status == ["200 OK"]
    assert b'rq_dlq_entries{queue="billing"} 1.0' in body
