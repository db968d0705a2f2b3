"""`rq-dlq circuits`: the state of every circuit breaker (`worker_tasks.circuit(...)`)."""

from __future__ import annotations

from collections.abc import Sequence

import click
from rich.table import Table
from rich.text import Text

from failure_handlers.circuits.listing import CircuitState, list_circuits
from failure_handlers.cli import views
from failure_handlers.cli.operator import operator
from failure_handlers.dlq.health import format_age
from failure_handlers.storage.keys import DlqKeys

STATE_STYLES = {"closed": "green", "open": "bold red", "half_open": "yellow"}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of circuits.")
def circuits(as_json: bool) -> None:
    """List circuits: name, state, failures in the window, open until, last change."""
    op = operator(reconcile=False)
    seconds, microseconds = op.connection.time()  # the clock the circuits run on
    now = seconds + microseconds / 1_000_000
    states = list_circuits(op.connection, DlqKeys(op.settings.dlq.prefix), now)
    if as_json:
        click.echo(views.to_json([state.as_json() for state in states]))
    else:
        views.show(circuits_table(states, now))


def circuits_table(states: Sequence[CircuitState], now: float) -> Table:
    table = Table(title=f"Circuits: {len(states)}, most recently changed first", title_justify="left")
    for column in ("circuit", "state", "failures in window", "open until", "last change"):
        table.add_column(column, no_wrap=column != "circuit", overflow="fold")
    for state in states:
        if state.state == "half_open":
            until = "a probe call is in flight" if state.open_until else "due: the next call probes"
        elif state.open_until:
            until = f"{state.open_until - now:.0f} s from now (then one probe)"
        else:
            until = "-"
        table.add_row(
            Text(state.name),
            Text(state.state.replace("_", "-"), style=STATE_STYLES.get(state.state, "")),
            f"{state.failures}/{state.threshold} in {state.window} s",
            until,
            f"{format_age(now - state.changed_at)} ago" if state.changed_at else "-",
        )
    return table
