"""The whole product in one run: retries, the failure handler, the DLQ, and a requeue that succeeds.

Uses REDIS_URL when it answers, else an embedded valkey-server; starts a real `rq worker demo
--with-scheduler --exception-handler failure_handlers.integration.record_failure` (the Procfile's
worker); enqueues one job for each fate with short retry intervals; prints the DLQ; "deploys a
fix" (starts the HTTP server the download needs), requeues the download, and shows it finished.
Then a circuit breaker: webhooks to a local service that is down open the circuit, the next one
fails fast without reaching it, and once the service is back the probe closes the circuit.
Stops everything it started.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere, installed or not

import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from redis import Redis
from rich.console import Console
from rich.table import Table

from failure_handlers import runtime
from failure_handlers.circuits import list_circuits
from failure_handlers.cli import views as dlq_views
from failure_handlers.cli.circuits_command import circuits_table
from failure_handlers.config import ConfigError
from failure_handlers.dev.embedded_redis import reachable_redis
from failure_handlers.dev.http_stub import stub_service
from failure_handlers.dev.worker_process import EXCEPTION_HANDLER, start_worker, stop_worker
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.logging_setup import configure_logging
from failure_handlers.operations.requeue_run import RequeueOptions, requeue_jobs
from failure_handlers.redaction import redact_url
from failure_handlers.storage.keys import DlqKeys
from worker_tasks import add, build_retry, download_content, enqueue, flaky_sync, import_invoice, send_webhook

QUEUE = "demo"
DEMO_INTERVALS = (1, 2, 4)
DEADLINE_SECONDS = 60
CIRCUIT_ENV = {"CIRCUIT_FAILURE_THRESHOLD": "3", "CIRCUIT_WINDOW_SECONDS": "60", "CIRCUIT_RESET_SECONDS": "2"}
REPORT = b"day,orders\n2026-11-21,118\n2026-11-22,131\n"

console = Console(highlight=False, soft_wrap=True)


class ReportHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(REPORT)))
        self.end_headers()
        self.wfile.write(REPORT)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass


@contextmanager
def http_server(port: int) -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", port), ReportHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(done: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo: gave up waiting for {what} after {DEADLINE_SECONDS}s")
        time.sleep(0.2)


def main() -> int:
    try:
        settings = runtime.settings()
        configure_logging(settings)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report_port = free_port()
    with reachable_redis(settings.redis_url) as url:
        connection = runtime.connect(url)
        dlq = DeadLetterQueue.from_settings(connection, settings.dlq, settings.archive)
        worker_command = f"rq worker {QUEUE} --with-scheduler --exception-handler {EXCEPTION_HANDLER}"
        console.rule(f"Redis at {redact_url(url)}; worker: {worker_command}")
        worker_log = tempfile.NamedTemporaryFile(prefix="demo-worker-", suffix=".log", delete=False)
        worker = start_worker(url, [QUEUE], env=CIRCUIT_ENV, output=worker_log)
        try:
            retry = build_retry(settings.retry.max, DEMO_INTERVALS)
            options = {"queue": QUEUE, "connection": connection, "retry": retry}
            jobs = {
                "succeeds": enqueue(add, 2, 3, **options),
                "fails twice, then succeeds": enqueue(flaky_sync, 3, **options),
                "fails permanently": enqueue(import_invoice, "INV-1042", **options),
                "fails until a fix (retries exhausted)": enqueue(
                    download_content, f"http://127.0.0.1:{report_port}/report.csv", **options
                ),
            }
            console.print(f"Enqueued {len(jobs)} jobs with retry intervals {DEMO_INTERVALS} s; waiting…")
            wait_until(
                lambda: all(job.get_status() in ("finished", "failed") for job in jobs.values()),
                "the jobs to finish or fail",
            )
            dlq_views.show(fates_table(jobs))
            console.rule(f"What the failure handler logged in the worker (full log: {worker_log.name})")
            print_handler_lines(worker_log.name)
            console.rule("make dlq-list")
            dlq_views.show(dlq_views.entries_table(dlq.list()))
            console.rule("make dlq-stats")
            dlq_views.show(dlq_views.stats_tables(dlq.stats(), time.time()))

            download = jobs["fails until a fix (retries exhausted)"]
            with http_server(report_port):
                console.rule(f"The fix is deployed; make requeue ID={download.id}")
                options = RequeueOptions(
                    settings.retry.max, DEMO_INTERVALS, settings.metrics.max_label_values, settings.serializer
                )
                requeue_jobs(connection, dlq, [download.id], options, on_outcome=lambda o: console.print(o.line()))
                wait_until(lambda: download.get_status() == "finished", "the requeued download")
            console.print(f"Job {download.id}: {download.get_status().value}, result {download.return_value()}")
            console.rule("make dlq-list")
            dlq_views.show(dlq_views.entries_table(dlq.list()))
            circuit_breaker(connection, settings.dlq.prefix)
        finally:
            stop_worker(worker)
            worker_log.close()
    console.print("Demo finished: worker and embedded server stopped.")
    console.print(dashboard_hint(settings.redis_url, url), markup=False)
    return 0


def circuit_breaker(connection: Redis, prefix: str) -> None:
    """Webhooks to a service that is down open its circuit; once it is back, the probe closes it."""
    console.rule("A circuit breaker: webhooks to a service that is down (503), then back (CIRCUIT_* = 3/60/2)")
    options = {"queue": QUEUE, "connection": connection}
    with stub_service() as service:
        down = [enqueue(send_webhook, f"{service.url}/hook", {"order": n}, retry=None, **options) for n in range(3)]
        wait_until(lambda: all(job.get_status() == "failed" for job in down), "3 webhooks to fail")
        later = enqueue(send_webhook, f"{service.url}/hook", {"order": 3}, retry=build_retry(5, (1,)), **options)
        wait_until(lambda: later.refresh() or later.meta.get("failures"), "the next webhook to be refused")
        console.print(
            f"3 webhooks failed with 503; the 4th was refused: {later.meta['failures'][0]['exc_type']} "
            f"(the service got {service.requests} requests)"
        )
        show_circuits(connection, prefix)
        service.healthy = True
        console.print("The service is back; the refused webhook is retried and probes it…")
        wait_until(lambda: later.get_status() == "finished", "the probe webhook")
        console.print(f"Job {later.id}: finished, {later.return_value()}; the service got {service.requests} requests")
        show_circuits(connection, prefix)


def show_circuits(connection: Redis, prefix: str) -> None:
    seconds, microseconds = connection.time()
    now = seconds + microseconds / 1_000_000
    console.print("rq-dlq circuits")
    dlq_views.show(circuits_table(list_circuits(connection, DlqKeys(prefix), now), now))


def dashboard_hint(configured_url: str | None, used_url: str) -> str:
    """The last line: how to see the DLQ in a browser (the demo does not block on a server)."""
    if used_url == configured_url:
        command = "make dashboard"  # the same REDIS_URL: the demo's dead jobs are there
    else:
        command = "REDIS_URL=redis://<your-redis>:6379/0 make dashboard"  # the embedded server is stopped
    return f"The DLQ in a browser: {command}  (rq-dlq web, then open http://127.0.0.1:9181/)"


def print_handler_lines(log_path: str) -> None:
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if "failure_handlers.handler" in line:
                console.print(line.rstrip(), markup=False, soft_wrap=True)


def fates_table(jobs: dict) -> Table:
    table = Table(title="What happened", title_justify="left")
    for column in ("fate", "job id", "function", "status", "runs"):
        table.add_column(column, no_wrap=column == "job id")
    for fate, job in jobs.items():
        job.refresh()
        runs = len(job.meta.get("failures", [])) + (1 if job.get_status() == "finished" else 0)
        table.add_row(fate, job.id, job.func_name.rsplit(".", 1)[-1], job.get_status().value, str(runs))
    return table


if __name__ == "__main__":
    sys.exit(main())
