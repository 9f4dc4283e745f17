"""A private PostgreSQL cluster on loopback for one test run (the AppView of the local network needs it).

initdb refuses to run as root, so when we are root the cluster belongs to the `postgres` user that
Debian's package creates. Trust auth, fsync off, a free port, the unix socket inside the temp dir:
nothing of it outlives `stop()`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


class PostgresError(RuntimeError):
    """PostgreSQL is missing or would not start."""


def find_pg_bin() -> Path:
    """The directory holding initdb/pg_ctl/postgres: on PATH or Debian's /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(os.path.realpath(on_path)).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[-3]), reverse=True
    )
    if candidates:
        return Path(candidates[0]).parent
    raise PostgresError("initdb not found: run scripts/setup_e2e.sh (apt-get install -y postgresql)")


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Postgres:
    """One throwaway cluster. Use as a context manager or call start()/stop()."""

    def __init__(self, base_dir: Path | None = None, *, remove_if_orphaned: Path | None = None) -> None:
        self.bin = find_pg_bin()
        self.remove_if_orphaned = remove_if_orphaned
        self.base_dir = Path(tempfile.mkdtemp(prefix="gitfeed-pg-", dir=base_dir))
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "sock"
        self.log_file = self.base_dir / "postgres.log"
        self.port = 0
        self.user = "postgres"
        self._run_as: str | None = None
        self._started = False
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """libpq URL the node services connect with (TCP on loopback, trust auth)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def _cmd(self, *args: str) -> list[str]:
        if self._run_as:
            return ["runuser", "-u", self._run_as, "--", *args]
        return list(args)

    def start(self, timeout: float = 30.0) -> Postgres:
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError as exc:
                raise PostgresError("running as root and no 'postgres' user to own the cluster") from exc
            self._run_as = "postgres"
            # The cluster user must be able to reach its own folder inside /tmp.
            os.chmod(self.base_dir, 0o755)
            shutil.chown(self.base_dir, user="postgres")
        self.socket_dir.mkdir()
        if self._run_as:
            shutil.chown(self.socket_dir, user=self._run_as)
        init = subprocess.run(
            self._cmd(
                str(self.bin / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ),
            capture_output=True,
            text=True,
        )
        if init.returncode != 0:
            raise PostgresError(f"initdb failed: {init.stderr.strip()[-500:]}")
        for attempt in range(5):
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c shared_buffers=64MB"
            )
            self._options = options
            started = self._pg_ctl_start(timeout)
            if started.returncode == 0:
                self._started = True
                self._start_watchdog()
                return self
            if attempt == 4 or "could not bind" not in self._log_tail():
                break
            time.sleep(0.2)
        raise PostgresError(f"postgres would not start: {self._log_tail()}")

    def _pg_ctl_start(self, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self._cmd(
                str(self.bin / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-o",
                self._options,
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ),
            capture_output=True,
            text=True,
        )

    def halt(self) -> None:
        """Stop the server (fast: clients are disconnected), keeping its data, for `resume()`."""
        stop = self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        result = subprocess.run(stop, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise PostgresError(f"pg_ctl stop failed: {result.stderr.strip()[-500:]}")

    def resume(self, timeout: float = 30.0) -> None:
        """Start the halted server again on the same port with the same data."""
        result = self._pg_ctl_start(timeout)
        if result.returncode != 0:
            raise PostgresError(f"postgres would not start again: {self._log_tail()}")

    def _start_watchdog(self) -> None:
        """A tiny process that stops the cluster and deletes its folder if we die without stop()."""
        stop = self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        folders = [str(self.base_dir)] + ([str(self.remove_if_orphaned)] if self.remove_if_orphaned else [])
        code = (
            "import shutil, subprocess, sys\n"
            "sys.stdin.buffer.read()\n"
            f"subprocess.run({stop!r}, capture_output=True)\n"
            f"for folder in {folders!r}: shutil.rmtree(folder, ignore_errors=True)\n"
        )
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, start_new_session=True
        )

    def _log_tail(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-800:]
        except OSError:
            return ""

    def psql(self, sql: str) -> str:
        """Run one statement with psql (over the socket in our temp dir) and return its output."""
        result = subprocess.run(
            [
                str(self.bin / "psql"),
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise PostgresError(f"psql failed: {result.stderr.strip()}")
        return result.stdout

    def schemas(self) -> list[str]:
        """Every non-system schema in the cluster."""
        out = self.psql(
            "select nspname from pg_namespace where nspname not like 'pg\\_%' "
            "and nspname not in ('information_schema', 'public') order by 1"
        )
        return [line for line in out.splitlines() if line]

    def drop_schemas(self, names: list[str]) -> None:
        for name in names:
            self.psql(f'drop schema if exists "{name}" cascade')

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Stop the server (fast, then immediate) and delete the whole temp folder."""
        if self._started and self.data_dir.exists():
            pid = self.postmaster_pid()
            stopped = subprocess.run(
                self._cmd(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"),
                capture_output=True,
                timeout=60,
            )
            if stopped.returncode != 0 and pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, 9)
            self._started = False
        shutil.rmtree(self.base_dir, ignore_errors=True)
        if self._watchdog is not None:
            self._watchdog.stdin.close()  # nothing left for it to do: it exits at once
            self._watchdog.wait(30)
            self._watchdog = None

    def __enter__(self) -> Postgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
