"""Adopt the package the way a new user does: build the wheel, install `rq-dead-letter[embedded]` into a
fresh virtualenv outside the checkout, write a tiny app that enqueues with plain RQ, run the installed
`rq worker` with the documented exception handler, and operate the DLQ with the installed `rq-dlq`.

Nothing here imports the checkout from the venv: the app lives in its own directory, runs from it, and
gets an environment without PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rq.job import Job, JobStatus

from failure_handlers.dev.worker_process import PROJECT_ROOT, stop_worker
from tests.integration.conftest import assert_one_line_error
from tests.polling import wait_for

# The first run builds a wheel and a venv (pip may download); the tests themselves stay well under 60 s.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

DLQ_PREFIX = "billing-app:dlq:"  # not the default: the worker and rq-dlq must both read it from the env
PIP_TIMEOUT_SECONDS = 480
COMMAND_TIMEOUT_SECONDS = 30
# pip's words for "the package index cannot be reached" (then the test is skipped, not failed)
INDEX_UNREACHABLE = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Network is unreachable",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "Could not fetch URL",
)

BILLING_PY = '''\
"""The tasks of a tiny billing app."""

from failure_handlers import PermanentError


def charge(customer):
    raise ConnectionError(f"payment gateway unreachable while charging customer {customer}")


def reject(invoice):
    raise PermanentError(f"invoice {invoice} has no customer")
'''

ENQUEUE_JOBS_PY = '''\
"""Enqueue with plain RQ, as the app already does; prints `<name> <job id>` lines."""

import os

from redis import Redis
from rq import Queue, Retry

import billing

queue = Queue("billing", connection=Redis.from_url(os.environ["REDIS_URL"]))
charge = queue.enqueue(billing.charge, 7, retry=Retry(max=2, interval=1))
reject = queue.enqueue(billing.reject, "INV-1", retry=Retry(max=2, interval=1))
print("charge", charge.id)
print("reject", reject.id)
'''


@dataclass(frozen=True)
class Venv:
    root: Path

    def bin(self, name: str) -> str:
        return str(self.root / "bin" / name)


@dataclass(frozen=True)
class App:
    directory: Path
    env: dict[str, str]
    venv: Venv

    def run(self, *command: str, **env: str) -> subprocess.CompletedProcess[str]:
        """A command from the venv's bin/, run from the app directory with the app's environment."""
        return subprocess.run(
            [self.venv.bin(command[0]), *command[1:]],
            cwd=self.directory,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_SECONDS,
        )

    def dlq_entries(self) -> dict[str, dict]:
        result = self.run("rq-dlq", "list", "--json", "--limit", "1000")
        assert result.returncode == 0, result.stdout + result.stderr
        return {entry["job_id"]: entry for entry in json.loads(result.stdout)}


def _pip(*args: str, what: str, cwd: Path) -> None:
    """Run pip from the test interpreter; skip if the package index cannot be reached, else fail loudly."""
    env = {name: value for name, value in os.environ.items() if name not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(
        [*args, "--quiet", "--disable-pip-version-check"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_SECONDS,
    )
    if result.returncode == 0:
        return
    output = result.stdout + result.stderr
    reason = next((output[output.index(marker) :][:160] for marker in INDEX_UNREACHABLE if marker in output), None)
    if reason is None and "No matching distribution found" in output:
        reason = _index_unreachable(env)  # pip with --retries 0 or behind build isolation says only this
    if reason:
        pytest.skip(f"{what}: the package index cannot be reached ({' '.join(reason.split())})")
    pytest.fail(f"{what} failed (exit {result.returncode}):\n{output}", pytrace=False)


def _index_unreachable(env: dict[str, str]) -> str | None:
    """Why pip's index cannot be reached (one HEAD request: nothing is downloaded), or None if it answers."""
    configured = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], env=env, capture_output=True, text=True, timeout=60
    ).stdout
    urls = [line.split("=", 1)[1].strip("'\"") for line in configured.splitlines() if ".index-url=" in line]
    index = env.get("PIP_INDEX_URL") or (urls[-1] if urls else "https://pypi.org/simple/")
    try:
        urllib.request.urlopen(urllib.request.Request(index, method="HEAD"), timeout=15).close()
    except (OSError, ValueError) as error:
        return f"{index}: {error}"
    return None


def _copy_source(destination: Path) -> Path:
    """The checkout's files (tracked, or new and not ignored) without `.venv`, `build/`, caches: building
    from a copy keeps setuptools' `build/` and egg-info out of the checkout and stale files out of the wheel."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = PROJECT_ROOT / relative
        if source.is_file():  # a tracked file deleted in the working tree is not built
            (destination / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / relative)
    return destination


@pytest.fixture(scope="session")
def installed_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """`pip wheel` the checkout, then a fresh venv outside it with `<wheel>[embedded]` and the pinned deps."""
    started = time.monotonic()
    work = tmp_path_factory.mktemp("package-install")
    source = _copy_source(work / "source")
    wheels = work / "wheels"
    _pip(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-w",
        str(wheels),
        str(source),
        what="building the wheel",
        cwd=work,
    )
    (wheel,) = wheels.glob("rq_dead_letter-*.whl")
    venv = Venv(work / "venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv.root)], check=True, timeout=120)
    _pip(
        venv.bin("python"),
        "-m",
        "pip",
        "install",
        "-c",
        str(PROJECT_ROOT / "requirements.txt"),
        f"{wheel}[embedded]",
        what="installing the wheel",
        cwd=work,
    )
    sys.stderr.write(f"built the wheel and the venv in {time.monotonic() - started:.1f} s\n")
    return venv


@pytest.fixture
def app(installed_venv: Venv, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> App:
    """A tiny billing app in its own directory, with an environment a user would have (no PYTHONPATH)."""
    directory = tmp_path_factory.mktemp("billing-app")
    (directory / "billing.py").write_text(BILLING_PY)
    (directory / "enqueue_jobs.py").write_text(ENQUEUE_JOBS_PY)
    env = {
        "PATH": f"{installed_venv.root / 'bin'}:/usr/bin:/bin",
        "HOME": str(directory),
        "LANG": "C.UTF-8",
        "REDIS_URL": redis_url,
        "DLQ_PREFIX": DLQ_PREFIX,
    }
    return App(directory, env, installed_venv)


@pytest.fixture
def dead_jobs(app: App, redis, redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Run the app's worker until the enqueued `charge` and `reject` jobs have FAILED; {name: job id}.

    The worker is stopped before the test body runs, so what the test sees stays put.
    """
    log_path = tmp_path / "worker.log"
    command = [
        app.venv.bin("rq"),
        "worker",
        "billing",
        "--with-scheduler",
        "--exception-handler",
        "failure_handlers.integration.record_failure",
        "--url",
        redis_url,
    ]
    with open(log_path, "wb") as log:
        worker = subprocess.Popen(command, cwd=app.directory, env=app.env, stdout=log, stderr=subprocess.STDOUT)
    try:
        enqueued = app.run("python", "enqueue_jobs.py")
        assert enqueued.returncode == 0, enqueued.stdout + enqueued.stderr
        ids = dict(line.split() for line in enqueued.stdout.splitlines())

        def both_failed() -> bool:
            assert worker.poll() is None, f"the worker exited with {worker.returncode}"
            return all(
                Job.fetch(job_id, connection=redis).get_status(refresh=True) == JobStatus.FAILED
                for job_id in ids.values()
            )

        try:
            wait_for(both_failed, 40, "the charge and reject jobs to fail")
        except AssertionError as error:
            raise AssertionError(f"{error}\n--- worker log ---\n{log_path.read_text()}") from None
    finally:
        stop_worker(worker)
        sys.stderr.write("--- worker log (last lines) ---\n" + "".join(log_path.read_text().splitlines(True)[-15:]))
    yield ids


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_venv_imports_the_installed_package_not_the_checkout(app):
    result = app.run("python", "-c", "import failure_handlers, worker_tasks; print(failure_handlers.__file__)")
    assert result.returncode == 0, result.stderr
    location = Path(result.stdout.strip())
    (site_packages,) = app.venv.root.glob("lib/python3.*/site-packages")
    assert location.is_relative_to(site_packages), location
    assert not location.is_relative_to(PROJECT_ROOT)


def test_the_wheel_ships_every_lua_script(installed_venv):
    (site_packages,) = installed_venv.root.glob("lib/python3.*/site-packages")
    shipped = {path.name for path in (site_packages / "failure_handlers" / "storage" / "lua").glob("*.lua")}
    assert shipped == {path.name for path in (PROJECT_ROOT / "failure_handlers" / "storage" / "lua").glob("*.lua")}
    assert "add.lua" in shipped


def test_rq_dlq_version_is_the_one_in_pyproject(app):
    version = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["version"]
    result = app.run("rq-dlq", "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["rq-dlq,", "version", version]


def test_retried_plain_job_is_dead_lettered_with_every_attempt(app, dead_jobs):
    entry = app.dlq_entries()[dead_jobs["charge"]]
    assert entry["attempts"] == 3 and entry["max_retries"] == 2
    assert [record["attempt"] for record in entry["failures"]] == [1, 2, 3]
    assert entry["exc_type"] == "ConnectionError" and "customer 7" in entry["exc_message"]
    assert entry["func_name"] == "billing.charge" and entry["queue"] == "billing"


def test_permanent_error_runs_once_and_is_dead_lettered(app, dead_jobs):
    entry = app.dlq_entries()[dead_jobs["reject"]]
    assert entry["attempts"] == 1 and len(entry["failures"]) == 1
    assert entry["reason"].startswith("permanent"), entry["reason"]
    assert entry["func_name"] == "billing.reject"


def test_requeue_puts_the_job_back_and_out_of_the_dlq(app, dead_jobs, redis):
    charge_id = dead_jobs["charge"]
    result = app.run("rq-dlq", "requeue", charge_id)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"requeued {charge_id}" in result.stdout, result.stdout

    assert charge_id not in app.dlq_entries()
    assert dead_jobs["reject"] in app.dlq_entries()
    job = Job.fetch(charge_id, connection=redis)
    wait_for(lambda: job.get_status(refresh=True) != JobStatus.FAILED, 10, f"job {charge_id} to leave failed")
    assert job.get_status() in (JobStatus.QUEUED, JobStatus.SCHEDULED)


def test_show_without_a_job_id_is_a_one_line_error(app):
    assert_one_line_error(app.run("rq-dlq", "show"), "JOB_ID")


def test_list_of_an_unknown_queue_is_a_one_line_error(app, redis):
    assert_one_line_error(app.run("rq-dlq", "list", "--queue", "nope"), "--queue", "nope")


def test_unreachable_redis_is_a_one_line_error(app):
    port = closed_port()
    result = app.run("rq-dlq", "list", REDIS_URL=f"redis://127.0.0.1:{port}/0")
    assert_one_line_error(result, "cannot reach Redis", str(port))
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_unreachable_redis_error_does_not_show_the_password(app):
    result = app.run("rq-dlq", "list", REDIS_URL=f"redis://:hunter2@127.0.0.1:{closed_port()}/0")
    assert_one_line_error(result, "cannot reach Redis")
    assert "hunter2" not in result.stdout + result.stderr
