from rq import Retry

from failure_handlers.handler import on_failure
from worker_tasks import enqueue, task


def plain(x):
    return x


@task(retry_max=5, retry_intervals=[7], job_timeout=11)
def tuned(x):
    return x


@task(retry_max=0)
def never_retried():
    return None


def test_defaults_come_from_configuration(fake_redis, monkeypatch):
    monkeypatch.setenv("RETRY_INTERVALS", "30,60,120")
    monkeypatch.setenv("JOB_TIMEOUT", "180")
    job = enqueue(plain, 1, connection=fake_redis)
    assert job.retries_left == 3 and job.retry_intervals == [30, 60, 120]
    assert job.timeout == 180 and job.origin == "default"
    assert job.meta["max_retries"] == 3
    assert job.failure_callback is on_failure


def test_task_options_override_configuration(fake_redis):
    job = enqueue(tuned, 1, connection=fake_redis)
    assert job.retries_left == 5 and job.retry_intervals == [7] and job.timeout == 11


def test_caller_overrides_task_options(fake_redis):
    job = enqueue(tuned, 1, connection=fake_redis, retry=Retry(max=1, interval=2), job_timeout=5, queue="other")
    assert job.retries_left == 1 and job.retry_intervals == [2] and job.timeout == 5 and job.origin == "other"


def test_zero_retries_means_no_retry_object(fake_redis):
    job = enqueue(never_retried, connection=fake_redis)
    assert job.retries_left is None and job.meta["max_retries"] == 0


def test_dotted_path_uses_the_task_options(fake_redis):
    job = enqueue("tests.unit.test_enqueue.tuned", 2, connection=fake_redis)
    assert job.retries_left == 5 and job.func_name == "tests.unit.test_enqueue.tuned"


def test_unknown_dotted_path_still_enqueues_with_defaults(fake_redis):
    job = enqueue("somewhere.not_importable", connection=fake_redis)
    assert job.retries_left == 3


def test_task_kwargs_and_user_meta_pass_through(fake_redis):
    job = enqueue(plain, connection=fake_redis, x=5, meta={"tenant": "acme"}, job_id="fixed-id")
    assert job.kwargs == {"x": 5} and job.meta["tenant"] == "acme" and job.id == "fixed-id"
