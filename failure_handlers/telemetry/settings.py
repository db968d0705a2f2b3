"""TRACE_URL_TEMPLATE: the link from a dead job to its trace (README "Use it with…"). Pure code."""

from __future__ import annotations

import re
from dataclasses import dataclass

from failure_handlers.errors import ConfigError
from failure_handlers.settings_reader import Reader, Source

DEFAULTS = {
    "TRACE_URL_TEMPLATE": None,
}
_SAMPLE_IDS = {"trace_id": "0" * 32, "span_id": "0" * 16}
TRACE_ID = re.compile(r"[0-9a-f]{32}")
SPAN_ID = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class TelemetrySettings:
    """Validated telemetry values."""

    trace_url_template: str | None = None  # e.g. https://tempo.example/trace/{trace_id}

    def trace_url(self, trace_id: str, span_id: str = "") -> str:
        """The trace's address, or '' without a template or a well-formed trace id (entries are
        hostile input: only hex ids are put in a link)."""
        if not self.trace_url_template or not TRACE_ID.fullmatch(trace_id):
            return ""
        return self.trace_url_template.format(trace_id=trace_id, span_id=span_id if SPAN_ID.fullmatch(span_id) else "")


def parse_telemetry_settings(source: Source) -> TelemetrySettings:
    read = Reader(source, DEFAULTS)
    return TelemetrySettings(trace_url_template=_template(read.given("TRACE_URL_TEMPLATE")))


def _template(text: str | None) -> str | None:
    if text is None:
        return None
    problem = ""
    if "{trace_id}" not in text:
        problem = "it must contain {trace_id}"
    else:
        try:
            text.format(**_SAMPLE_IDS)
        except (KeyError, IndexError, ValueError):
            problem = "only {trace_id} and {span_id} may be in braces"
    if problem or not text.startswith(("http://", "https://")):
        raise ConfigError(
            f"TRACE_URL_TEMPLATE={text!r}: {problem or 'expected an http:// or https:// address'}, "
            "e.g. https://tempo.example/trace/{trace_id}"
        )
    return text
