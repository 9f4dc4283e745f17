"""Run ingest and serve as two child processes and keep them running.

Separate processes keep the classifier and the frame decoder from stealing the server's event loop.
The server keeps answering while ingest reconnects or restarts; SIGINT/SIGTERM stop both cleanly,
and ingest saves its cursor on the way out.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class Child:
    """One supervised process; `restart` says whether an unexpected exit is retried, `nice` how much
    lower its CPU priority is than the supervisor's (every thread of it: set before it starts)."""

    name: str
    argv: Sequence[str]
    restart: bool = True
    nice: int = 0
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    finished: bool = False  # exited 0 on its own (a replayed capture ran out): not restarted


@dataclass
class Supervisor:
    children: list[Child]
    stop_timeout: float = 15.0
    backoff_max: float = 30.0
    env: dict[str, str] | None = None
    _stopping: bool = field(default=False, init=False)

    def _start(self, child: Child) -> None:
        lower = child.nice
        child.process = subprocess.Popen(
            list(child.argv), env=self.env, preexec_fn=(lambda: os.nice(lower)) if lower else None
        )
        child.started_at = time.monotonic()
        log.info("started %s (pid %d)", child.name, child.process.pid)

    def request_stop(self, signum: int = signal.SIGTERM, frame: object = None) -> None:
        self._stopping = True

    def _check(self, child: Child) -> int | None:
        """Restart a child that died; returns an exit code when the whole run must end."""
        if child.finished:
            return None
        if child.process is None:
            if time.monotonic() >= child.next_start:
                self._start(child)
            return None
        code = child.process.poll()
        if code is None:
            return None
        if code == 0 and child.restart:
            log.info("%s finished", child.name)
            child.process, child.finished = None, True
            return None
        log.warning("%s exited with code %s", child.name, code)
        if not child.restart:
            return code or 1
        healthy = time.monotonic() - child.started_at > 60
        child.restarts = 0 if healthy else child.restarts + 1
        delay = min(self.backoff_max, 0.5 * 2**child.restarts)
        child.process, child.next_start = None, time.monotonic() + delay
        log.info("restarting %s in %.1fs", child.name, delay)
        return None

    def run(self) -> int:
        """Start every child and supervise until a signal or a fatal exit; returns the exit code."""
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        code = 0
        try:
            for child in self.children:
                self._start(child)
            while not self._stopping:
                for child in self.children:
                    result = self._check(child)
                    if result is not None:
                        code = result
                        self._stopping = True
                time.sleep(0.1)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _stop_all(self) -> None:
        running = [c.process for c in self.children if c.process is not None and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("pid %d did not stop in %.0fs: killing it", process.pid, self.stop_timeout)
                process.kill()
                process.wait()
