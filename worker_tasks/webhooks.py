"""`send_webhook`: POST a JSON payload to a URL, safely retried: timeouts, an Idempotency-Key, a circuit per host."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import urlsplit

import requests
from rq import get_current_job

from failure_handlers import PermanentError
from failure_handlers.circuits import circuit, validate_circuit_name

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 15


class InvalidWebhook(PermanentError):
    """The URL cannot be called at all; no retry will fix it."""


def send_webhook(url: str, payload: Any) -> dict[str, Any]:
    """POST `payload` as JSON to `url`; returns the status, the host and the Idempotency-Key sent.

    - Timeouts: 5 s to connect, 15 s to read; both are retried like connection errors.
    - `Idempotency-Key` header: the job id (the same on every retry and requeue of this job, so the
      receiver can drop repeats), or a hash of the payload when called outside a job.
    - 4xx other than 408/425/429 is permanent (no retries, straight to the DLQ); 5xx, 408, 425, 429,
      connection errors and timeouts are retried (`failure_handlers.retry.policy`).
    - A circuit per host (`webhook:<host[:port]>`, CIRCUIT_* limits): while a host is down, further
      webhooks to it fail fast with `CircuitOpen` (retried) instead of waiting for their timeouts.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhook(f"not an http(s) URL with a host: {url[:80]!r}")
    key = idempotency_key(payload)
    with circuit(circuit_name(parts.hostname, parts.port)):
        response = requests.post(
            url,
            json=payload,
            headers={"Idempotency-Key": key},
            timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS),
        )
        response.raise_for_status()
    return {"status": response.status_code, "host": parts.hostname, "idempotency_key": key}


def idempotency_key(payload: Any) -> str:
    """The current job's id, else `sha256:<hex>` of the payload's canonical JSON."""
    job = get_current_job()
    if job is not None:
        return job.id
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def circuit_name(host: str, port: int | None) -> str:
    """`webhook:<host>[:<port>]`, or `webhook:<hash>` for a host that is not a valid circuit name."""
    name = f"webhook:{host}" + (f":{port}" if port else "")
    try:
        return validate_circuit_name(name)
    except ValueError:
        return "webhook:" + hashlib.sha256(name.encode()).hexdigest()[:16]
