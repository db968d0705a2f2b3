"""`download_content`: fetch a URL with timeouts, streaming and a size limit."""

from __future__ import annotations

import hashlib
from typing import Any

import requests

from failure_handlers import PermanentError

CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 30
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
CHUNK_BYTES = 64 * 1024


class ContentTooLarge(PermanentError):
    """The body is bigger than the task allows; fetching it again will not make it smaller."""


def download_content(url: str, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Download `url` and return its size, SHA-256 and content type.

    Connection errors, timeouts, 5xx and 429 raise and are retried; other 4xx are permanent
    (see `failure_handlers.retry.policy`); a body over `max_bytes` is permanent too.
    """
    with requests.get(url, stream=True, timeout=(CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)) as response:
        response.raise_for_status()
        declared = int(response.headers.get("Content-Length") or 0)
        if declared > max_bytes:
            raise ContentTooLarge(f"{url} declares {declared} bytes, limit is {max_bytes}")
        digest = hashlib.sha256()
        size = 0
        for chunk in response.iter_content(chunk_size=CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                raise ContentTooLarge(f"{url} sent more than {max_bytes} bytes")
            digest.update(chunk)
        return {
            "url": url,
            "status": response.status_code,
            "bytes": size,
            "sha256": digest.hexdigest(),
            "content_type": response.headers.get("Content-Type", ""),
        }
