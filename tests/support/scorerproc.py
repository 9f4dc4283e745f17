"""A real `gitfeed scorer` (Ray Serve on a local Ray instance) in a subprocess, on loopback.

Ray's start-up is the cost (tens of seconds on a loaded machine), so keep it small: one CPU, no
dashboard, no usage stats, the model offline. The process leads its own session, and Ray's own
processes die with it (Ray starts them fate-shared with the driver), so `kill()` is an outage of the
whole worker tier, and `stop()` the operator's SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_DISABLE_DOCKER_CPU_WARNING": "1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "FEEDGEN_DEVICE": "cpu",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ScorerProcess:
    """`gitfeed scorer --host 127.0.0.1 --port PORT --num-cpus 1`, its output in `log_path`."""

    def __init__(self, log_path: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {**os.environ, **RAY_ENV, "PYTHONUNBUFFERED": "1", **(env or {})}  # its lines as they come
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 300.0) -> ScorerProcess:
        argv = [
            sys.executable,
            "-m",
            "gitfeed.cli",
            "scorer",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        argv += ["--num-cpus", "1"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, f"the scorer exited:\n{self.output()}"
            try:
                response = httpx.get(self.url + "/health", timeout=5)
                # The replica answers before the command has finished starting and taken over SIGTERM
                # from Ray (it prints "scorer: serving"): a stop before that is Ray's, not a clean one.
                started = "scorer: serving at" in self.log_path.read_text(errors="replace")
                if response.status_code == 200 and started:
                    return response.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"the scorer at {self.url} was not ready in {timeout:.0f}s:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL the command and everything in its session (Ray's processes)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.proc = None

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, as an operator stops it; SIGKILL after `timeout`. Returns the exit status."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()  # whatever of Ray's is still in the session
        return code

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""
