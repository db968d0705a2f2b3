"""Tasks of the test project: one that always fails, one that leaves a mark in Redis when it runs."""

from rq import get_current_job


def charge(order: str) -> None:
    raise ConnectionError(f"payment gateway down for order {order}")


def mark(name: str) -> str:
    job = get_current_job()
    assert job is not None
    job.connection.sadd("shop:ran", name)
    return name
