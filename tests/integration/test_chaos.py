"""The chaos experiment at 2,000 jobs: kills and a Redis restart, then nothing may be lost.

It owns its server (a valkey-server with AOF that it SIGKILLs and restarts), so it runs once, in
the embedded pass, not again against TEST_REDIS_URL. Bigger runs: `python scripts/chaos.py --jobs 10000`.
"""

from __future__ import annotations

import os

import pytest

from chaos.experiment import ChaosConfig, run

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_REDIS_URL")), reason="owns its own server; runs in the embedded pass"
)


@pytest.mark.timeout(900)
def test_every_job_is_finished_or_dead_lettered_through_kills_and_a_redis_restart(tmp_path, capsys):
    lines: list[str] = []
    archive_url = f"sqlite:///{tmp_path / 'archive.db'}"  # the failure archive on: its archiver is killed too
    figures = run(ChaosConfig(jobs=2_000, archive_url=archive_url), tmp_path, say=lines.append)

    with capsys.disabled():
        for line in ["", *lines, f"dead by cause {dict(figures.dead_by_cause.most_common())}", figures.summary()]:
            print(f"[chaos] {line}")
    assert figures.horse_kills >= 1 and figures.worker_kills == 3 and figures.redis_restarts == 1
    assert figures.unfinished == 0 and figures.finished + figures.dead == figures.jobs
    assert figures.lost == [] and figures.both == [] and figures.causeless == []
    assert figures.duplicate_entries == 0 and figures.unindexed_entries == 0
    assert figures.counted_dead == figures.dead + figures.counted_requeued, "every dead-lettering counted once"
    assert figures.counted_failures >= figures.dead
    assert figures.dead >= figures.fates["permanent"] + figures.fates["sigkill"] + figures.fates["timeout"]
    # One row per dead-lettering: the dead jobs' `open` rows, plus one `requeued` row for each dead-lettering the
    # reconciler closed because its job ran again (counted_requeued; checked row by row by archive_extra).
    assert figures.archiver_kills == 1 and figures.archive_rows == figures.dead + figures.counted_requeued, (
        "one archive row per dead-lettering"
    )
    assert figures.archive_missing == [] and figures.archive_extra == [] and figures.archive_lost == 0
