"""Item 8: the web dashboard at 100,000 entries: server time of its pages and API.

One fill of realistic entries (as item 4), then each request `SAMPLES` times per cycle through
the Flask test client, in process: the time is the server's (routing, security checks, Redis
round trips, rendering), no network. Reported values are medians over `repeat` cycles of the
per-cycle medians. Targets: list page and `GET /api/failed-jobs` < 100 ms, overview < 200 ms,
one entry < 20 ms.

Standalone: python benchmarks/dashboard_speed.py [--entries 100000] [--repeat 3]
(runs on BENCH_REDIS_URL, or a private embedded valkey-server; prints a table; asserts nothing).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.figures import Figure, median, median_seconds, milliseconds, runs  # noqa: E402
from benchmarks.server import BenchServer, bench_server  # noqa: E402
from benchmarks.synthetic import make_entries  # noqa: E402
from failure_handlers.config import parse_settings  # noqa: E402
from failure_handlers.dlq.store import DeadLetterQueue  # noqa: E402

PREFIX = "bench:dlq:"
TTL = 7 * 86400
SAMPLES = 5
# (metric, path, target seconds or None); `{newest}` is the newest entry's job id.
REQUESTS = (
    ("overview page `/`", "/", 0.200),
    ("list page `/failed`, first page of 50", "/failed", 0.100),
    ("`GET /api/failed-jobs`, first page of 50", "/api/failed-jobs", 0.100),
    ("one entry `/jobs/<id>`", "/jobs/{newest}", 0.020),
    ("`GET /api/failed-jobs/<id>`", "/api/failed-jobs/{newest}", 0.020),
    ("list page `/failed?exc_type=KeyError`", "/failed?exc_type=KeyError", 0.100),
    ("list page at offset {half}", "/failed?offset={half}", 0.100),
    ("groups page `/groups`", "/groups", None),
    ("`GET /api/stats` (what the live counters poll)", "/api/stats", None),
)


def figures(server: BenchServer, entries: int, repeat: int) -> list[Figure]:
    from failure_handlers.web import create_app  # the `web` extra

    connection = server.fresh()
    dlq = DeadLetterQueue(connection, PREFIX, TTL, max_entries=entries * 2)
    dlq.add_many(make_entries(entries))
    limits = {"DLQ_PREFIX": PREFIX, "DLQ_TTL_SECONDS": str(TTL), "DLQ_MAX_ENTRIES": str(entries * 2)}
    settings = parse_settings({"REDIS_URL": server.url, **limits})
    client = create_app(settings, connection).test_client()
    names = {"newest": dlq.list(limit=1)[0].job_id, "half": entries // 2}
    cycles: dict[str, list[float]] = defaultdict(list)
    for _ in range(repeat):
        for metric, path, _target in REQUESTS:
            url = path.format(**names)
            if client.get(url).status_code != 200:
                raise RuntimeError(f"benchmark request failed: GET {url}")
            cycles[metric].append(median_seconds(lambda url=url: client.get(url).data, SAMPLES))
    section = f"8. Dashboard at {entries:,} entries (server time, in process)"
    rows = []
    for metric, _path, target in REQUESTS:
        label = metric.format(half=f"{names['half']:,}")
        values = cycles[metric]
        spread = f"runs {milliseconds(min(values))}–{milliseconds(max(values))}"
        if target is None:
            rows.append(Figure(section, label, runs(values, milliseconds), spread=spread))
        else:
            met = median(values) < target
            limit = f"< {milliseconds(target)}"
            measured = runs(values, milliseconds)
            rows.append(Figure(section, label, measured, target=limit, met=met, spread=spread, judged=True))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    with bench_server() as server:
        rows = figures(server, options.entries, options.repeat)
    print("| metric | measured | target | met |\n|---|---|---|---|")
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "no")
        print(f"| {row.metric} | {row.ours} | {row.target} | {met} |")


if __name__ == "__main__":
    main()
