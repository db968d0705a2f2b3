"""A notification's words: what, how many, since when, a sample message, the dashboard link and the
CLI command that shows it. Pure; every text goes through `redact_text` before it leaves."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from failure_handlers.alerts.rules import Condition

FIRING = "firing"
RESOLVED = "resolved"
MAX_SAMPLE_CHARS = 500


@dataclass(frozen=True)
class Message:
    rule: str
    subject: str
    state: str  # firing | resolved
    severity: str
    what: str
    count: int
    since: str  # UTC ISO time, or ""
    sample: str
    command: str
    dashboard_url: str
    sent_at: str

    @property
    def title(self) -> str:
        prefix = "RESOLVED" if self.state == RESOLVED else self.severity.upper()
        return f"[rq-dlq {prefix}] {self.what}"

    def text(self) -> str:
        """Plain text: the e-mail body and the Slack message."""
        lines = [self.title, "", f"How many: {self.count}"]
        if self.since:
            lines.append(f"Since: {self.since}")
        if self.sample:
            lines.append(f"Sample: {self.sample}")
        lines.append(f"Show it: {self.command}")
        if self.dashboard_url:
            lines.append(f"Dashboard: {self.dashboard_url}")
        lines.append(f"Rule: {self.rule} (subject {self.subject}), at {self.sent_at}")
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "title": self.title}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Message:
        return cls(**{name: data[name] for name in cls.__dataclass_fields__})


def message_for(condition: Condition, state: str, dashboard_url: str | None, now: float) -> Message:
    """The message for a firing condition, or for a resolvable one that cleared (`state` RESOLVED)."""
    what = condition.what if state == FIRING else f"cleared: {condition.what}"
    link = ""
    if dashboard_url:
        link = dashboard_url.rstrip("/")
        link += f"/failed?group={condition.subject}" if condition.subject != "dlq" else "/"
    sample = " ".join(condition.sample.split())
    return Message(
        rule=condition.rule,
        subject=condition.subject,
        state=state,
        severity=condition.severity if state == FIRING else "info",
        what=what,
        count=condition.count,
        since=_iso(condition.since),
        sample=sample[:MAX_SAMPLE_CHARS] + ("…" if len(sample) > MAX_SAMPLE_CHARS else ""),
        command=condition.command,
        dashboard_url=link,
        sent_at=_iso(now),
    )


def _iso(epoch: float | None) -> str:
    if not epoch:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
