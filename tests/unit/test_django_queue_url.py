"""`manage.py rq_dlq` names django-rq's connection by a URL (messages, REDIS_URL): the address, database
and credentials of the connection, in each form `REDIS_URL` takes. No connection is made."""

from __future__ import annotations

import pytest
from redis import Redis
from redis.sentinel import Sentinel

from failure_handlers.contrib.django.queues import url_of
from failure_handlers.redaction import redact_url


@pytest.mark.parametrize(
    ("connection", "url"),
    [
        (Redis(host="redis.internal", port=6380, db=2), "redis://redis.internal:6380/2"),
        (Redis.from_url("redis://app:s3cr%3At@10.0.0.5:6379/1"), "redis://app:s3cr%3At@10.0.0.5:6379/1"),
        (Redis(host="redis.internal", password="pw", ssl=True), "rediss://:pw@redis.internal:6379/0"),
        (Redis(unix_socket_path="/run/redis.sock", db=3), "unix:///run/redis.sock?db=3"),
        (Redis(host="::1", port=7000), "redis://[::1]:7000/0"),
    ],
)
def test_a_connection_is_named_by_its_url(connection, url):
    assert url_of(connection) == url


def test_a_sentinel_managed_primary_is_named_in_our_sentinel_form():
    sentinel = Sentinel([("s1", 26379), ("s2", 26380)], password="pw", db=1)
    primary = sentinel.master_for("mymaster")
    assert url_of(primary) == "redis+sentinel://:pw@s1:26379,s2:26380/mymaster/1"


def test_the_password_is_redacted_where_the_url_is_shown():
    assert redact_url(url_of(Redis(host="h", username="app", password="secret"))) == "redis://app:***@h:6379/0"
