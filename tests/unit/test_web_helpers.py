"""Pure helpers of the dashboard: text made visible, bucketed counts, chart layout, CSV cells,
confirmed selections, the reconciler's pass record and the loopback rule (fakeredis)."""

from __future__ import annotations

import time

import pytest

from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.operations.reconciler import ReconcileReport
from failure_handlers.operations.reconciler_health import last_pass, record_pass
from failure_handlers.web import selections
from failure_handlers.web.command import is_loopback
from failure_handlers.web.export import safe_cell
from failure_handlers.web.formatting import command, one_line, visible
from failure_handlers.web.timeline import bucket_counts, layout
from tests.factories import dead_entry


def test_visible_spells_out_direction_overrides_controls_and_surrogates():
    assert visible("a\u202eb\u2066c\x1b[31md\u200be") == "a⟨U+202E⟩b⟨U+2066⟩c⟨U+001B⟩[31md⟨U+200B⟩e"
    assert visible("tab\tand\nnewline") == "tab\tand\nnewline"
    assert visible("lone \udce9") == "lone \\udce9"
    assert visible("x" * 30, limit=10) == "x" * 10 + "… [20 more characters: see the JSON API]"
    assert one_line("  many\n lines   here ", 9) == "many line…"


def test_cli_commands_are_shell_quoted():
    assert command(["rq-dlq", "list", "--queue", "a b'c"]) == "rq-dlq list --queue 'a b'\"'\"'c'"


def test_csv_cells_never_start_a_formula():
    assert [safe_cell(v) for v in ("=1+1", "+x", "-2", "@SUM(A1)", "\tx", "plain", 3)] == [
        "'=1+1", "'+x", "'-2", "'@SUM(A1)", "'\tx", "plain", "3"
    ]  # fmt: skip


def test_bucket_counts_come_from_zcount(fake_redis):
    dlq = DeadLetterQueue(fake_redis, "t:", ttl_seconds=86_400)
    for job_id, minutes in (("a", 0.5), ("b", 1), ("c", 61), ("d", 23 * 60 + 30)):
        dlq.add(dead_entry(job_id, minutes_ago=minutes))
    (counts,) = bucket_counts(dlq, [dlq.keys.index], time.time(), 86_400, 24)
    assert counts[-1] == 2 and counts[-2] == 1 and counts[0] == 1 and sum(counts) == 4


def test_layout_scales_bars_to_the_peak_and_keeps_small_ones_visible():
    chart = layout("x", [0, 1, 200], start=0, step=10, width=30, height=100)
    assert [bar.height for bar in chart.bars] == [0.0, 1.0, 100.0]
    assert chart.peak == 200 and chart.total == 201 and chart.bars[2].y == 0.0 and chart.bars[1].end == 20


def test_a_confirmed_selection_is_taken_once(fake_redis):
    keys = DeadLetterQueue(fake_redis, "t:", 60).keys
    token = selections.save(fake_redis, keys, selections.PendingAction("requeue", ["a", "b"], "queue=x"))
    assert 0 < fake_redis.ttl(keys.selection(token)) <= selections.SELECTION_TTL_SECONDS
    assert selections.peek(fake_redis, keys, token).ids == ["a", "b"]
    assert selections.take(fake_redis, keys, token).description == "queue=x"
    assert selections.take(fake_redis, keys, token) is None
    assert selections.peek(fake_redis, keys, "../../etc") is None


def test_the_reconciler_pass_record(fake_redis):
    keys = DeadLetterQueue(fake_redis, "t:", 60).keys
    assert last_pass(fake_redis, keys) is None
    record_pass(fake_redis, keys, ReconcileReport(queues=1).line(), full=False, interval=5)
    recorded = last_pass(fake_redis, keys)
    assert recorded is not None and not recorded.full and recorded.line.startswith("reconciled 1 queues")
    assert not recorded.is_late(recorded.at + 40) and recorded.is_late(recorded.at + 46)
    fake_redis.hset(keys.reconciler_last_pass, "at", "garbage")
    assert last_pass(fake_redis, keys) is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True), ("[::1]", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.1", False), ("example.com", False)],
)  # fmt: skip
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback
