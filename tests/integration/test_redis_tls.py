"""TLS proven: `rediss://` on a real TLS-only `redis-server`, with certificates from a throw-away CA (trustme).

Server verification (`ssl_ca_certs`), mutual TLS (`ssl_certfile`/`ssl_keyfile` against
`--tls-auth-clients yes`), a wrong CA or a missing client certificate (one line, exit 2), and the
Procfile's worker dead-lettering a job over TLS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from failure_handlers.runtime import connect
from tests.integration.conftest import assert_one_line_error, run_script
from tests.redis_servers import (
    RedisProcess,
    TlsFiles,
    requires_redis_server,
    run_burst_worker,
    start_tls_server,
    tls_files,
)
from worker_tasks import enqueue
from worker_tasks.chaos_tasks import chaos_job

pytestmark = [pytest.mark.integration, requires_redis_server]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, certificates: TlsFiles) -> Iterator[RedisProcess]:
    server = start_tls_server(tmp_path_factory.mktemp("tls-server"), certificates)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mutual_tls_server(tmp_path_factory: pytest.TempPathFactory, certificates: TlsFiles) -> Iterator[RedisProcess]:
    server = start_tls_server(tmp_path_factory.mktemp("mtls-server"), certificates, client_certificates=True)
    yield server
    server.stop()


def tls_url(server: RedisProcess, ca: Path, client: TlsFiles | None = None) -> str:
    url = f"rediss://127.0.0.1:{server.port}/0?ssl_cert_reqs=required&ssl_ca_certs={ca}"
    if client:
        url += f"&ssl_certfile={client.client_cert}&ssl_keyfile={client.client_key}"
    return url


def dlq_command(url: str, *args: str):
    return run_script("scripts/dlq.py", *args, env={"REDIS_URL": url})


def test_rq_dlq_verifies_the_server_with_the_given_ca(tls_server, certificates):
    tls_server.client().flushall()
    url = tls_url(tls_server, certificates.ca)
    stats = dlq_command(url, "stats")
    assert stats.returncode == 0, stats.stderr
    listed = dlq_command(url, "list", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr


def test_a_server_signed_by_another_ca_is_one_line_exit_2(tls_server, tmp_path):
    other_ca = tls_files(tmp_path, "other").ca
    result = dlq_command(tls_url(tls_server, other_ca), "stats")
    assert_one_line_error(result, "cannot reach Redis at rediss://", "certificate verify failed")


def test_mutual_tls_with_the_client_certificate(mutual_tls_server, certificates):
    result = dlq_command(tls_url(mutual_tls_server, certificates.ca, client=certificates), "stats")
    assert result.returncode == 0, result.stderr


def test_mutual_tls_without_a_client_certificate_is_one_line_exit_2(mutual_tls_server, certificates):
    result = dlq_command(tls_url(mutual_tls_server, certificates.ca), "stats")
    assert_one_line_error(result, "cannot reach Redis at rediss://")


def test_procfile_worker_over_mutual_tls_dead_letters_a_failing_job(mutual_tls_server, certificates, tmp_path):
    url = tls_url(mutual_tls_server, certificates.ca, client=certificates)
    connection = connect(url)
    connection.flushall()
    job = enqueue(chaos_job, "permanent", connection=connection)
    log = run_burst_worker(url, tmp_path / "worker.log")
    shown = dlq_command(url, "show", "--json", job.id)
    assert shown.returncode == 0, shown.stderr + log
    assert json.loads(shown.stdout)["exc_type"].endswith("ChaosPermanentError")
