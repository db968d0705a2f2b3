"""Where notifications go: a webhook (Slack-compatible or generic JSON body) and e-mail over SMTP.

`deliver` raises `DeliveryError` with a redacted reason on any failure (refused, timed out, non-2xx,
SMTP error); the outbox retries it. Every request has a timeout (ALERT_TIMEOUT_SECONDS).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import requests

from failure_handlers.alerts.messages import Message
from failure_handlers.alerts.settings import AlertSettings
from failure_handlers.redaction import redact_endpoint, redact_text

MAX_REASON_CHARS = 300


class DeliveryError(Exception):
    """A delivery failed; the message is redacted and safe to log."""


class Channel(Protocol):
    @property
    def name(self) -> str: ...

    def deliver(self, message: Message) -> None: ...


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    body_format: str  # slack | json
    timeout: float
    name: str = "webhook"

    def deliver(self, message: Message) -> None:
        body = {"text": message.text()} if self.body_format == "slack" else message.as_json()
        try:
            response = requests.post(self.url, json=body, timeout=(self.timeout, self.timeout), allow_redirects=False)
        except requests.RequestException as error:
            raise DeliveryError(self._reason(f"{type(error).__name__}: {error}")) from None
        if not 200 <= response.status_code < 300:
            raise DeliveryError(self._reason(f"HTTP {response.status_code}: {response.text[:200]}"))

    def _reason(self, detail: str) -> str:
        return f"webhook {redact_endpoint(self.url)}: {redact_text(detail, secrets_of(self.url))}"[:MAX_REASON_CHARS]


@dataclass(frozen=True)
class EmailChannel:
    """`smtp://[user:password@]host[:port][?starttls=true]` or `smtps://…` (TLS from the start)."""

    url: str
    to: tuple[str, ...]
    sender: str
    timeout: float
    name: str = "email"

    def deliver(self, message: Message) -> None:
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = self.sender
        mail["To"] = ", ".join(self.to)
        mail.set_content(message.text())
        parts = urlsplit(self.url)
        starttls = parse_qs(parts.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes")
        try:
            if parts.scheme == "smtps":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    parts.hostname or "", parts.port or 465, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(parts.hostname or "", parts.port or 25, timeout=self.timeout)
            with client:
                if starttls:
                    client.starttls(context=ssl.create_default_context())
                if parts.username:
                    client.login(unquote(parts.username), unquote(parts.password or ""))
                client.send_message(mail)
        except (OSError, smtplib.SMTPException) as error:
            detail = redact_text(f"{type(error).__name__}: {error}", secrets_of(self.url))
            raise DeliveryError(f"e-mail via {redact_endpoint(self.url)}: {detail}"[:MAX_REASON_CHARS]) from None


def secrets_of(url: str | None) -> list[str]:
    """The parts of a URL that must never be shown: password, path and query of a secret URL."""
    if not url:
        return []
    try:
        parts = urlsplit(url)
    except ValueError:
        return [url]
    found = [url, parts.password or "", parts.query]
    if parts.path not in ("", "/"):
        found.append(parts.path)
    return [secret for secret in found if secret]


def channels_from(settings: AlertSettings) -> list[Channel]:
    """The configured channels (none: notifications are logged and kept pending)."""
    found: list[Channel] = []
    if settings.webhook_url:
        found.append(WebhookChannel(settings.webhook_url, settings.webhook_format, settings.timeout_seconds))
    if settings.smtp_url:
        found.append(
            EmailChannel(
                settings.smtp_url, settings.email_to, settings.email_from,
                settings.timeout_seconds,
            )
        )  # fmt: skip
    return found


def all_secrets(settings: AlertSettings) -> list[str]:
    """Every secret a message or log line must not show."""
    return [*secrets_of(settings.webhook_url), *secrets_of(settings.smtp_url)]
