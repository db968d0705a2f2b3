"""`python -m benchmarks.ping_prober [EVERY]`: the server's PING latency, measured from outside.

The server's URL is the first line on its stdin (never on a command line, where `ps` shows it).
A process of its own (not a thread of the benchmark), with one connection: a PING every EVERY
seconds (0.01) until SIGTERM or SIGINT. It prints `ready` once its first PING answered, and at the
end one JSON line: the latency of every PING, in seconds. The storm benchmark runs it during a storm
to see what the other clients of the one shared server would see.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

from redis import Redis


def probe(url: str, every: float) -> list[float]:
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    connection = Redis.from_url(url)
    connection.ping()
    print("ready", flush=True)
    latencies: list[float] = []
    while not stopping.is_set():
        started = time.perf_counter()
        connection.ping()
        latencies.append(time.perf_counter() - started)
        stopping.wait(every)
    return latencies


def main() -> int:
    url = sys.stdin.readline().strip()
    every = float(sys.argv[1]) if len(sys.argv) > 1 else 0.01
    print(json.dumps(probe(url, every)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
