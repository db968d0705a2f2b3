"""A small process supervisor, as systemd or a Procfile runner would be: it starts named programs,
restarts one that exits (after `RESTART_DELAY_SECONDS`, systemd's `RestartSec`), counts the restarts
and keeps each exit code. It watches from a thread of its own, so the restarts go on while the
experiment that owns it waits for something else (a failover)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from failure_handlers.dev.worker_process import stop_worker

RESTART_DELAY_SECONDS = 1.0
POLL_SECONDS = 0.2

Starter = Callable[[], "subprocess.Popen[bytes]"]


@dataclass
class Program:
    name: str  # "worker-1", "reconciler", ...
    kind: str  # "worker", "reconciler", "archiver": restarts are counted per kind
    start: Starter
    process: subprocess.Popen[bytes] | None = None
    exited_at: float | None = None


@dataclass
class Supervisor:
    programs: list[Program] = field(default_factory=list)
    restarts: Counter[str] = field(default_factory=Counter)
    exit_codes: Counter[str] = field(default_factory=Counter)  # "worker exit 1" -> count
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def add(self, name: str, kind: str, start: Starter) -> None:
        self.programs.append(Program(name, kind, start))

    def __enter__(self) -> Supervisor:
        for program in self.programs:
            program.process = program.start()
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        for program in self.programs:
            if program.process is not None:
                stop_worker(program.process)  # SIGTERM, then SIGKILL with its children

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            with self._lock:
                for program in self.programs:
                    self._check(program)

    def _check(self, program: Program) -> None:
        process = program.process
        if process is None or process.poll() is None:
            return
        now = time.monotonic()
        if program.exited_at is None:
            program.exited_at = now
            self.exit_codes[f"{program.kind} exit {process.returncode}"] += 1
        if now - program.exited_at >= RESTART_DELAY_SECONDS:
            program.process, program.exited_at = program.start(), None
            self.restarts[program.kind] += 1
