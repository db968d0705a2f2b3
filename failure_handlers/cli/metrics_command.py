"""`rq-dlq metrics`: the Prometheus exporter on its own (the Procfile's `metrics` process)."""

from __future__ import annotations

import click
from loguru import logger

from failure_handlers.cli.operator import operator
from failure_handlers.errors import OperatorError
from failure_handlers.redaction import redact_url


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", type=click.IntRange(min=0, max=65535), default=9121, show_default=True, help="Port.")
@click.option("--once", is_flag=True, help="Print one scrape on stdout and exit (no server).")
def metrics(host: str, port: int, once: bool) -> None:
    """Serve Prometheus metrics at http://HOST:PORT/metrics: the DLQ, failure counters and RQ's state."""
    from failure_handlers.metrics.server import exposition, registry, serve, wsgi_app

    op = operator(reconcile=False)
    if once:
        body, _ = exposition(registry(op.connection, op.settings))
        click.echo(body.decode(), nl=False)
        return
    app = wsgi_app(op.connection, op.settings)
    try:
        logger.info("metrics: serving http://{}:{}/metrics for {}", host, port, redact_url(op.settings.redis_url))
        serve(host, port, app)
    except OSError as error:
        raise OperatorError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    except KeyboardInterrupt:
        pass
