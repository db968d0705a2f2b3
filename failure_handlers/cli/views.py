"""How the DLQ looks to an operator: rich tables and panels, and stable JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from failure_handlers.dlq.entry import DeadLetterEntry
from failure_handlers.dlq.first_cause import event_line
from failure_handlers.dlq.health import format_age
from failure_handlers.dlq.stats import DlqStats
from failure_handlers.recording.failure_record import one_line

MESSAGE_WIDTH = 60
DETAIL_FIELDS = (
    "job_id", "func_name", "queue", "args", "kwargs", "exc_type", "exc_message", "attempts", "max_retries",
    "reason", "retry_schedule", "enqueued_at", "failed_at", "worker", "fingerprint", "origin",
)  # fmt: skip
MAX_PIPE_WIDTH = 1000  # columns at most when stdout is a pipe or a file


def show(renderable: RenderableType) -> None:
    """Print to stdout; when stdout is not a terminal, as wide as the content so nothing is cut."""
    out = Console(highlight=False)
    if not out.is_terminal:
        width = Measurement.get(out, out.options.update(max_width=MAX_PIPE_WIDTH), renderable).maximum
        out = Console(width=max(out.width, width), no_color=True, highlight=False)
    out.print(renderable)


def entries_table(entries: Sequence[DeadLetterEntry]) -> Table:
    id_width = max((len(entry.job_id) for entry in entries), default=6)
    table = Table(title=f"Dead-letter queue: {len(entries)} shown, newest first", title_justify="left")
    table.add_column("job id", no_wrap=True, min_width=id_width, overflow="fold")
    table.add_column("queue", overflow="fold")
    table.add_column("function", min_width=12, overflow="fold")
    table.add_column("exception", min_width=12, overflow="fold")
    table.add_column("message", min_width=12, overflow="fold")
    table.add_column("group", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("failed at (UTC)", no_wrap=True, min_width=19)
    for entry in entries:
        table.add_row(
            entry.job_id,
            entry.queue,
            entry.func_name,
            entry.exc_type,
            Text(one_line(entry.exc_message, MESSAGE_WIDTH)),
            entry.fingerprint,
            str(entry.attempts),
            entry.failed_at[:19].replace("T", " "),
        )
    return table


def entry_detail(entry: DeadLetterEntry, job_status: str, trace_url: str = "") -> Group:
    fields = Table.grid(padding=(0, 2))
    fields.add_column(style="bold")
    fields.add_column(overflow="fold")
    for name in DETAIL_FIELDS:
        fields.add_row(name, Text(str(getattr(entry, name))))
    if entry.trace_id:
        link = f"  {trace_url}" if trace_url else ""
        fields.add_row("trace", Text(f"{entry.trace_id} span {entry.span_id}{link}"))
    if entry.duplicated_runs:
        fields.add_row("duplicated_runs", f"{entry.duplicated_runs} (an attempt ran twice: the job ran again)")
    fields.add_row("self_sufficient", "yes" if entry.job_snapshot else "no (requeue needs RQ's job hash)")
    fields.add_row("RQ job now", job_status)
    history = Table(title="Attempts (job.meta['failures'])", title_justify="left")
    for column in ("run", "attempt", "failed at", "worker", "exception", "message", "retried in"):
        history.add_column(column, overflow="fold")
    for failure in entry.attempt_history():
        history.add_row(
            Text(_run_cell(failure), style="bold" if failure.get("duplicate") else ""),
            Text(_attempt_cell(failure)),
            Text(str(failure.get("failed_at", ""))),
            Text(str(failure.get("worker", ""))),
            Text(str(failure.get("exc_type", ""))),
            Text(str(failure.get("message", ""))),
            Text(_retried_in(failure)),
        )
    events = [Text(event_line(event)) for event in entry.event_history()]
    return Group(
        fields,
        Panel(Text(entry.traceback or "(no traceback)"), title="traceback", title_align="left", expand=False),
        history,
        *([Text("Recorded again (the first real cause above is kept):", style="bold"), *events] if events else []),
    )


def _run_cell(failure: dict[str, object]) -> str:
    """`2 (duplicate: this attempt ran again)` for a duplicated run (dlq/runs.py); '' before runs existed."""
    run = str(failure.get("run", ""))
    return f"{run} (duplicate: this attempt ran again)" if failure.get("duplicate") else run


def _attempt_cell(failure: dict[str, object]) -> str:
    """`1`, or `1 (after requeue 2)` in the retry budget an `rq-dlq requeue` gave."""
    requeues = failure.get("requeues")
    return str(failure.get("attempt", "")) + (f" (after requeue {requeues})" if requeues else "")


def _retried_in(failure: dict[str, object]) -> str:
    """`3s (planned 4s, equal jitter)`; '' for the final run or an entry written before retry_in existed."""
    if failure.get("retry_in") is None:
        return ""
    note = failure.get("retry_note")
    return f"{failure['retry_in']}s ({note})" if note else f"{failure['retry_in']}s"


def stats_tables(stats: DlqStats, now: float) -> Group:
    def age(moment: float | None) -> str:
        return f"{format_age(now - moment)} ago" if moment else "-"

    parts: list[RenderableType] = [
        Text(f"Dead jobs: {stats.total}", style="bold"),
        Text(f"oldest failure {age(stats.oldest)}, newest {age(stats.newest)}"),
        Text(f"dropped by DLQ_MAX_ENTRIES: {stats.dropped}"),
    ]
    for kind, title in (("queue", "By queue"), ("func", "By function"), ("exc", "By exception type")):
        table = Table(title=title, title_justify="left")
        table.add_column("name", overflow="fold")
        table.add_column("count", justify="right")
        for name, count in stats.by_kind.get(kind, []):
            table.add_row(name, str(count))
        parts.append(table)
    groups = Table(title="Top failure groups", title_justify="left")
    for column in ("group", "count", "first seen", "last seen", "exception", "where", "sample message"):
        groups.add_column(column, overflow="fold", justify="right" if column == "count" else "left")
    for group in stats.groups:
        groups.add_row(
            group.fingerprint,
            str(group.count),
            age(group.first_seen),
            age(group.last_seen),
            group.exc_type,
            group.origin or group.func_name,
            Text(one_line(group.sample_message, MESSAGE_WIDTH)),
        )
    parts.append(groups)
    return Group(*parts)


def to_json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
