"""The failover chaos experiment, small: 24 jobs through a frozen and a shut-down Sentinel primary.

`chaos/failover.py` with `DLQ_WAIT_REPLICAS=1` and `min-replicas-to-write 1` on both servers (the
configuration docs/production-redis.md#failover-chaos recommends): Procfile workers, the reconciler
and the archiver on the `redis+sentinel://` URL under a supervisor; the primary frozen for 3 s
(SIGSTOP/SIGCONT) once and shut down once. Every job must end finished or dead with its own exception,
dead-lettered once (one archive row), and any run beyond what its fate needs must fall in a disruption.
Bigger runs, and the configuration without WAIT: `make chaos-failover`.

It starts its own servers (Debian's redis-server): not repeated against TEST_REDIS_URL (.ci/run).
"""

from __future__ import annotations

import pytest

from chaos.failover import FailoverConfig, run
from tests.redis_servers import requires_redis_server

pytestmark = [pytest.mark.integration, requires_redis_server]


@pytest.mark.timeout(420)  # about 60 s; a job abandoned in a race adds RQ's 90 s heartbeat expiry
def test_no_job_nor_its_cause_is_lost_nor_dead_lettered_twice_through_a_freeze_and_a_shutdown(tmp_path, capsys):
    lines: list[str] = []
    config = FailoverConfig(jobs=24, wait_replicas=True, freeze_seconds=3, deadline_seconds=300)
    figures = run(config, tmp_path, say=lines.append)

    with capsys.disabled():
        for line in ["", *lines, figures.summary()]:
            print(f"[failover chaos] {line}")
    details = "\n".join([*(account.line() for account in figures.accounts), *figures.sentinel_events])
    assert [disruption.kind for disruption in figures.disruptions] == ["freeze", "shutdown"]
    assert figures.unfinished == 0, details
    assert figures.select(lambda a: a.lost) == [], details
    assert figures.select(lambda a: a.cause_lost) == [], details
    assert figures.select(lambda a: a.duplicate) == [] and figures.select(lambda a: a.archive_missing) == [], details
    assert "unexplained" not in figures.extra_runs, details  # an extra run only where a disruption lost its ack
    failing = figures.fates["permanent"] + figures.fates["flaky"] + figures.fates["single"]
    assert figures.dead_by_cause.total() == failing, details
    assert figures.holds
