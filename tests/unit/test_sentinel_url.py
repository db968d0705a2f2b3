"""REDIS_URL's Sentinel form (failure_handlers/sentinel_url.py), its validation, redaction and RQ's settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from redis.exceptions import ConnectionError, TimeoutError

from failure_handlers import runtime
from failure_handlers.config import parse_settings
from failure_handlers.dev.worker_process import PROJECT_ROOT
from failure_handlers.errors import ConfigError
from failure_handlers.redaction import redact_text, redact_url
from failure_handlers.sentinel_connection import FailoverConnection, FailoverSSLConnection
from failure_handlers.sentinel_url import (
    DEFAULT_SENTINEL_PORT,
    SentinelUrl,
    is_cluster_url,
    is_sentinel_url,
    parse_sentinel_url,
)

FULL = (
    "rediss+sentinel://app:pr1mary-pw@s1.internal:26380,s2.internal,[::1]:26381/my%20master/3"
    "?sentinel_username=watcher&sentinel_password=s3ntinel-pw&ssl_ca_certs=/etc/ca.pem"
    "&ssl_certfile=/etc/client.pem&ssl_keyfile=/etc/client.key&socket_timeout=5"
)


def test_full_url_is_parsed_into_sentinels_primary_credentials_and_tls():
    url = parse_sentinel_url(FULL)
    assert url == SentinelUrl(
        sentinels=(("s1.internal", 26380), ("s2.internal", DEFAULT_SENTINEL_PORT), ("::1", 26381)),
        master_name="my master",
        db=3,
        username="app",
        password="pr1mary-pw",
        sentinel_username="watcher",
        sentinel_password="s3ntinel-pw",
        ssl=True,
        sentinel_ssl=True,
        ssl_options=(
            ("ssl_ca_certs", "/etc/ca.pem"),
            ("ssl_certfile", "/etc/client.pem"),
            ("ssl_keyfile", "/etc/client.key"),
        ),
        socket_timeout=5.0,
    )
    assert url.secrets() == ("pr1mary-pw", "s3ntinel-pw")


def test_minimal_url_means_database_0_no_credentials_no_tls():
    url = parse_sentinel_url("redis+sentinel://127.0.0.1:26379/mymaster")
    assert url.connection_kwargs() == {"db": 0, "username": None, "password": None}
    assert url.sentinel_kwargs(3) == {
        "username": None,
        "password": None,
        "socket_timeout": 3,
        "socket_connect_timeout": 3,
    }


def test_primary_and_sentinels_get_their_own_credentials():
    url = parse_sentinel_url("redis+sentinel://:pw@h:1/m/2?sentinel_password=spw&ssl=true&sentinel_ssl=false")
    assert url.connection_kwargs() == {"db": 2, "username": None, "password": "pw", "ssl": True}
    assert url.sentinel_kwargs(3)["password"] == "spw" and "ssl" not in url.sentinel_kwargs(3)


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("redis+sentinel:///mymaster", "no Sentinel host"),
        ("redis+sentinel://h:1", "no master name"),
        ("redis+sentinel://h:1/", "no master name"),
        ("redis+sentinel://h:1/m/zero", "database 'zero'"),
        ("redis+sentinel://h:1/m/0/extra", "/<master name>[/<db>]"),
        ("redis+sentinel://h:0/m", "port must be a number"),
        ("redis+sentinel://h:99999/m", "port must be a number"),
        ("redis+sentinel://h:1,:2/m", "empty host name"),
        ("redis+sentinel://[::1/m", "not a URL"),
        ("redis+sentinel://h:1/m?sentinel_pasword=x", "unknown parameter 'sentinel_pasword'"),
        ("redis+sentinel://h:1/m?ssl=maybe", "ssl='maybe'"),
        ("redis+sentinel://h:1/m?ssl_ca_certs=/ca.pem", "needs TLS"),
        ("rediss+sentinel://h:1/m?ssl_cert_reqs=some", "ssl_cert_reqs"),
        ("rediss+sentinel://h:1/m?ssl_certfile=/c.pem", "go together"),
        ("redis+sentinel://h:1/m?socket_timeout=-1", "socket_timeout='-1'"),
        ("redis+sentinel://h:1/m?socket_timeout=soon", "socket_timeout='soon'"),
        ("redis+sentinel://h:1/m?sentinel_password=", "is empty"),
        ("redis+sentinel://h:1/m?ssl=true&ssl=false", "given twice"),
        ("redis+sentinel://h:1/m#frag", "fragment"),
    ],
)
def test_bad_sentinel_url_is_one_config_error_naming_redis_url_without_passwords(url, fragment):
    secret_url = url.replace("://", "://:pr1mary-pw@", 1) + ("&" if "?" in url else "?") + "sentinel_password=s3nt"
    with pytest.raises(ConfigError) as raised:
        parse_settings({"REDIS_URL": secret_url if "#" not in url else url})
    message = str(raised.value)
    assert message.startswith("REDIS_URL=") and fragment in message and "\n" not in message
    assert "pr1mary-pw" not in message and "s3nt" not in message.replace("sentinel_password=***", "")


def test_sentinel_url_is_accepted_as_it_is():
    assert parse_settings({"REDIS_URL": FULL}).redis_url == FULL


@pytest.mark.parametrize("url", ["redis+cluster://:pw@h:7000/0", "rediss+cluster://h:7000"])
def test_cluster_url_says_rq_does_not_support_redis_cluster(url):
    assert is_cluster_url(url) and not is_sentinel_url(url)
    with pytest.raises(ConfigError, match="RQ does not support Redis Cluster") as raised:
        parse_settings({"REDIS_URL": url})
    assert "pw@" not in str(raised.value)


def test_other_schemes_name_every_accepted_form():
    with pytest.raises(ConfigError, match=r"redis://, rediss://, unix:// or redis\+sentinel://"):
        parse_settings({"REDIS_URL": "memcached://h:1"})


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "redis+sentinel://app:pr1mary-pw@h1:1,h2:2/m/0?sentinel_password=s3nt&ssl=true",
            "redis+sentinel://app:***@h1:1,h2:2/m/0?sentinel_password=***&ssl=true",
        ),
        ("redis+sentinel://h1:1,h2:2/m", "redis+sentinel://h1:1,h2:2/m"),
        ("redis://h:6379/0?password=pw", "redis://h:6379/0?password=***"),
        ("redis://user:p@ss@h:6379", "redis://user:***@h:6379"),
        ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    ],
)
def test_redact_url_hides_every_password_of_a_multi_host_url(url, shown):
    assert redact_url(url) == shown


def test_redact_text_hides_a_sentinel_password_parameter():
    text = "failed: redis+sentinel://:pw1234@h:1/m?sentinel_password=s3ntinel&ssl=true"
    assert redact_text(text) == "failed: redis+sentinel://:***@h:1/m?sentinel_password=***&ssl=true"


def test_rq_gets_the_same_sentinels_primary_credentials_tls_and_failover_retry():
    settings = runtime.rq_sentinel_settings(parse_sentinel_url(FULL))
    connection_kwargs = settings.pop("CONNECTION_KWARGS")
    assert settings["SENTINEL_KWARGS"].pop("retry").get_retries() == 0  # asking the next Sentinel is the retry
    assert settings == {
        "INSTANCES": [("s1.internal", 26380), ("s2.internal", 26379), ("::1", 26381)],
        "MASTER_NAME": "my master",
        "DB": 3,
        "USERNAME": "app",
        "PASSWORD": "pr1mary-pw",
        "SOCKET_TIMEOUT": 5.0,
        "SSL": True,
        "SENTINEL_KWARGS": {
            "username": "watcher",
            "password": "s3ntinel-pw",
            "socket_timeout": 5.0,
            "socket_connect_timeout": runtime.CONNECT_TIMEOUT_SECONDS,
            "ssl": True,
            "ssl_ca_certs": "/etc/ca.pem",
            "ssl_certfile": "/etc/client.pem",
            "ssl_keyfile": "/etc/client.key",
        },
    }
    retry = connection_kwargs.pop("retry")
    assert retry == runtime.failover_retry() and retry.get_retries() == runtime.FAILOVER_RETRIES
    assert connection_kwargs == {
        "ssl_ca_certs": "/etc/ca.pem",
        "ssl_certfile": "/etc/client.pem",
        "ssl_keyfile": "/etc/client.key",
        "socket_connect_timeout": runtime.CONNECT_TIMEOUT_SECONDS,
        "retry_on_error": [ConnectionError, TimeoutError],
        "connection_class": FailoverSSLConnection,  # TLS to the primary (SSL above)
    }


def test_connections_to_the_primary_ask_the_sentinels_again_when_they_reconnect():
    plain = runtime.sentinel_connection_kwargs(parse_sentinel_url("redis+sentinel://s1:26379/mymaster"))
    assert plain["connection_class"] is FailoverConnection
    assert runtime.sentinel_connection_kwargs(parse_sentinel_url(FULL))["connection_class"] is FailoverSSLConnection


def rq_settings_names(redis_url: str, directory: Path) -> dict[str, Any]:
    """What `rq worker -c failure_handlers.rq_settings` reads (REDIS_URL, SENTINEL), in a fresh process."""
    code = (
        "import json, failure_handlers.rq_settings as s; "
        "print(json.dumps({k: getattr(s, k) for k in ('REDIS_URL', 'SENTINEL') if hasattr(s, k)}, default=repr))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=directory,  # no .env
        env={"REDIS_URL": redis_url, "PYTHONPATH": str(PROJECT_ROOT), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return dict(json.loads(result.stdout))


def test_rq_settings_hand_a_sentinel_url_to_rq_as_sentinel_never_as_redis_url(tmp_path):
    """RQ's REDIS_URL wins over SENTINEL (rq/cli/helpers.py, rq 3.0): it must not be set."""
    names = rq_settings_names("redis+sentinel://:pw@127.0.0.1:26390/mymaster/2", tmp_path)
    assert list(names) == ["SENTINEL"]
    assert names["SENTINEL"]["INSTANCES"] == [["127.0.0.1", 26390]] and names["SENTINEL"]["DB"] == 2
    assert rq_settings_names("redis://127.0.0.1:6399/2", tmp_path) == {"REDIS_URL": "redis://127.0.0.1:6399/2"}
