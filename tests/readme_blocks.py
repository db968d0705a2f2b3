"""The README's "Use it with…" code blocks, as written, for the tests that run them."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Mapping
from pathlib import Path

from failure_handlers.dev.worker_process import PROJECT_ROOT, rq_command, stop_worker

README = Path(__file__).resolve().parents[1] / "README.md"


def section_blocks(heading: str) -> list[str]:
    """The fenced code blocks under `### heading` of the README, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n### {heading}\n")
    end = text.find("\n## ", start)
    end = min(e for e in (end, text.find("\n### ", start + 1)) if e != -1)
    return re.findall(r"```[a-z]*\n(.*?)```", text[start:end], flags=re.S)


def settings_module(heading: str, root: Path) -> list[str]:
    """Write the section's settings module (its first block, headed `# myapp/rq_settings.py: <worker
    command>`) under `root`; return the worker command written in that header, as arguments."""
    block = section_blocks(heading)[0]
    header = block.splitlines()[0]
    path, _, command = header.removeprefix("# ").partition(": ")
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    (target.parent / "__init__.py").touch()
    target.write_text(block, encoding="utf-8")
    return shlex.split(command)


class ReadmeWorkers:
    """Workers started with a README section's command and settings module (`settings_module`),
    in `root`, logging to files there; `stop()` stops them and prints the end of each log."""

    def __init__(self, heading: str, root: Path) -> None:
        self.command = settings_module(heading, root)
        assert self.command[:2] == ["rq", "worker"], self.command
        self.root = root
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
        log_path = self.root / f"worker-{len(self.started)}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [*rq_command(), *self.command[1:], "--path", str(self.root), "--path", str(PROJECT_ROOT)],
                cwd=self.root,
                env=dict(env),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.started.append((process, log_path))
        return process

    def log_of(self, process: subprocess.Popen[bytes]) -> str:
        """What `process` (started here) has written so far."""
        return next(path for started, path in self.started if started is process).read_text(errors="replace")

    def stop(self) -> None:
        for process, log_path in self.started:
            stop_worker(process)
            print(f"--- {log_path.name} ---\n" + log_path.read_text()[-3000:])


def environ_without(prefix: str) -> dict[str, str]:
    """This process's environment without the variables starting with `prefix`."""
    return {key: value for key, value in os.environ.items() if not key.startswith(prefix)}
