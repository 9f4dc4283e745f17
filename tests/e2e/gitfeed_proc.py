"""gitfeed itself as an operator runs it, for the end-to-end tests: `gitfeed run` / `gitfeed serve` as
real child processes against the local network, with their logs kept and their process trees watched.

Each process starts in its own session (so a stray grandchild can be found and killed with its group),
in an empty working directory (no developer `.env`), with every FEEDGEN_ variable of the parent dropped
and the test's own set. `stop()` sends SIGTERM and times the exit; `close()` makes sure nothing is left
and says what it had to kill.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[2]


class GitfeedProcessError(RuntimeError):
    """A gitfeed process did not start, or did not become ready in time."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the AppView needs the port before the server starts: it is
    in the feed generator's DID document)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gitfeed_env(settings: Mapping[str, str]) -> dict[str, str]:
    """The environment of a gitfeed child: ours without FEEDGEN_*, offline model, plus `settings`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FEEDGEN_")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1")
    # The checkout's packages, even when gitfeed is not installed in this interpreter.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH", "")]))
    env.update(settings)
    return env


def _ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid: int) -> bool:
    """True if pid is a live process (not a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> set[int]:
    """Every live process below pid (children, grandchildren, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            parent = _ppid(int(entry.name))
            if parent is not None:
                parents[int(entry.name)] = parent
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return {p for p in found if alive(p)}


def session_members(sid: int) -> set[int]:
    """Live processes of session sid (ours start their own session: its id is the leader's pid)."""
    members = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            with open(entry / "stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            members.add(int(entry.name))
    return members


class GitfeedProcess:
    """One `python -m gitfeed.cli ARGS...` (the `gitfeed` command) with its log in a file."""

    def __init__(self, args: Sequence[str], settings: Mapping[str, str], workdir: Path, name: str) -> None:
        self.args = list(args)
        self.env = gitfeed_env(settings)
        self.workdir = workdir
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.seen_pids: set[int] = set()  # every process of the tree we ever saw (for the leftover check)

    def start(self) -> GitfeedProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gitfeed.cli", *self.args],
                cwd=self.workdir,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.seen_pids.add(self.proc.pid)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_text()[-chars:]

    def watch(self) -> set[int]:
        """The live process tree now (remembered for `leftovers()`)."""
        tree = descendants(self.pid) | ({self.pid} if alive(self.pid) else set())
        self.seen_pids |= tree
        return tree

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float) -> None:
        """Poll check() until true; fail with the log tail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            self.watch()
            if check():
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise GitfeedProcessError(
                    f"gitfeed {self.args[0]} exited ({self.proc.returncode}) before {what}; log:\n"
                    + self.log_tail()
                )
            if time.monotonic() > deadline:
                raise GitfeedProcessError(
                    f"gitfeed {self.args[0]}: no {what} in {timeout:.0f}s; log:\n" + self.log_tail()
                )
            time.sleep(0.1)

    def wait_http(self, base_url: str, timeout: float = 60.0) -> None:
        """Until the server answers describeFeedGenerator."""

        def answers() -> bool:
            try:
                response = httpx.get(f"{base_url}/xrpc/app.bsky.feed.describeFeedGenerator", timeout=2)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        self.wait_until(answers, "HTTP server", timeout)

    def stop(self, timeout: float = 20.0) -> float:
        """SIGTERM to the process (as systemd or Ctrl-C would); seconds until it exited."""
        assert self.proc is not None
        self.watch()
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout)
        return time.monotonic() - started

    def leftovers(self) -> list[int]:
        """Processes of this tree (or its session) still alive."""
        left = {pid for pid in self.seen_pids if alive(pid)}
        if self.proc is not None:
            left |= session_members(self.proc.pid)
        return sorted(left)

    def close(self) -> list[int]:
        """Make sure the whole tree is gone (SIGTERM, then SIGKILL); returns what had to be killed."""
        if self.proc is None:
            return []
        if self.proc.poll() is None:
            self.watch()
            self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(20)
        killed = self.leftovers()
        for pid in killed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(5)
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in killed) and time.monotonic() < deadline:
            time.sleep(0.05)
        return killed


def gitfeed_run(
    *, endpoint: str, db: Path, port: int, settings: Mapping[str, str], workdir: Path
) -> GitfeedProcess:
    """`gitfeed run` (ingest + serve under the supervisor) on 127.0.0.1:port, ingesting from endpoint."""
    args = ["run", "--source", "relay", "--endpoint", endpoint, "--db", str(db)]
    args += ["--port", str(port), "--host", "127.0.0.1"]
    return GitfeedProcess(args, settings, workdir, "run")


def gitfeed_serve(*, db: Path, port: int, settings: Mapping[str, str], workdir: Path) -> GitfeedProcess:
    """`gitfeed serve` alone on 127.0.0.1:port."""
    args = ["serve", "--db", str(db), "--port", str(port), "--host", "127.0.0.1"]
    return GitfeedProcess(args, settings, workdir, "serve")


def gitfeed_command(
    args: Sequence[str], settings: Mapping[str, str], workdir: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """A one-shot `gitfeed ARGS...` (publish, stats) as an operator types it; output captured."""
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "gitfeed.cli", *args],
        cwd=workdir,
        env=gitfeed_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
