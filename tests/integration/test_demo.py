"""`make demo` on a machine without Redis: the embedded server path, end to end."""

import subprocess
import sys

from failure_handlers.dev.worker_process import PROJECT_ROOT


def test_demo_runs_on_an_embedded_server_and_cleans_up(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0"}  # unreachable
    result = subprocess.run(
        [sys.executable, "scripts/demo.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=90
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "starting an embedded server instead" in result.stderr
    for fate, status in (
        ("succeeds", "finished"),
        ("fails twice, then succeeds", "finished"),
        ("fails permanently", "failed"),
        ("fails until a fix", "failed"),
    ):
        assert any(fate in line and status in line for line in out.splitlines()), (fate, out)
    assert "moved to DLQ" in out and "will retry in 1s" in out
    assert "Dead jobs: 2" in out
    assert ": finished, result {'url'" in out
    assert "the 4th was refused: failure_handlers.errors.CircuitOpen (the service got 3 requests)" in out
    assert "the service got 4 requests" in out  # the probe only, after the service came back
    assert any(line.startswith("│ webhook:127.0.0.1:") and "│ closed" in line for line in out.splitlines())
    assert "Demo finished: worker and embedded server stopped." in out
    last = out.rstrip().splitlines()[-1]  # the dashboard command; the demo does not block on a server
    assert last.startswith("The DLQ in a browser: REDIS_URL=redis://<your-redis>:6379/0 make dashboard")
