"""Processes and disks seen from outside: start the relay, read RSS from /proc, find the supervisor's
children, read the database read-only, and a size-limited filesystem for the disk-full fault; for
`--backend postgres`, a private PostgreSQL cluster with one ingest and N servers (`PgCluster`), each
kept running by a small restart loop (`Supervised`).

/proc rather than psutil: nothing to install, and the harness needs only RSS, parent pids and argv.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from scripts.soaklib.pace import Pace

REPO = Path(__file__).resolve().parents[2]


def rss_bytes(pid: int) -> int | None:
    """Resident set size of `pid` (None when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return 0


def children(pid: int) -> list[tuple[int, list[str]]]:
    """(pid, argv) of the live children of `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[1]) != pid or fields[0] == "Z":
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                argv = [a.decode(errors="replace") for a in cmdline.read().split(b"\0") if a]
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        found.append((int(entry), argv))
    return found


def child_by_command(pid: int, command: str) -> int | None:
    """The child of `pid` whose argv has `command` (e.g. the `ingest` half of `gitfeed run`)."""
    for child, argv in children(pid):
        if command in argv:
            return child
    return None


def pin(cpu: int | None) -> None:
    """preexec_fn: pin the child to one CPU (no-op when None or unsupported)."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


@dataclass
class RelayProcess:
    """A running soaklib/relay.py; `start` waits until it listens."""

    capture: Path
    pace: Pace
    workdir: Path
    port: int = 0
    t0: float | None = None
    rewind: int = 0
    cpu: int | None = None
    process: subprocess.Popen | None = None
    starts: int = field(default=0)

    def start(self, timeout: float = 300.0) -> RelayProcess:
        ready = self.workdir / f"relay-ready-{self.starts}.json"
        ready.unlink(missing_ok=True)
        argv = [
            sys.executable,
            "-m",
            "scripts.soaklib.relay",
            "--capture",
            str(self.capture),
            "--port",
            str(self.port),
        ]
        argv += ["--ready-file", str(ready), *self.pace.args(), f"--rewind={self.rewind}"]
        if self.t0 is not None:
            argv.append(f"--t0={self.t0}")
        log = open(self.workdir / "relay.log", "ab")  # noqa: SIM115 - the child keeps it
        self.process = subprocess.Popen(
            argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, preexec_fn=lambda: pin(self.cpu)
        )
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"relay exited with {self.process.returncode}; see {self.workdir}/relay.log"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("relay did not start")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        self.port, self.t0 = info["port"], info["t0"]
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def call(self, path: str, timeout: float = 2.0) -> dict | None:
        """GET a control path; None when the relay does not answer (stalled, restarting)."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as response:
                return json.loads(response.read())
        except (OSError, ValueError):
            return None

    def head(self) -> int:
        """The newest seq produced (from the shared schedule, so it works while the relay is stopped)."""
        assert self.t0 is not None
        return self.pace.head(time.time() - self.t0)

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def db_state(db: Path | str) -> dict:
    """cursor and counters of a live database, read-only (never blocks the writer: WAL); `db` may be a
    postgresql:// URL."""
    if isinstance(db, str) and db.startswith("postgresql://"):
        return _pg_state(db)
    db = Path(db)
    if not db.exists():
        return {"cursor": None, "counters": {}}
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1.0)
        try:
            row = conn.execute("SELECT max(cursor) FROM sub_state").fetchone()
            counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
        finally:
            conn.close()
    except sqlite3.Error as error:
        return {"cursor": None, "counters": {}, "error": str(error)}
    return {"cursor": row[0] if row else None, "counters": counters}


def _pg_state(url: str) -> dict:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5, autocommit=True) as conn:
            row = conn.execute("SELECT max(cursor) FROM sub_state").fetchone()
            counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
            size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    except psycopg.Error as error:
        return {"cursor": None, "counters": {}, "error": str(error).strip()}
    return {"cursor": row[0] if row else None, "counters": counters, "bytes": int(size)}


def db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())


@dataclass
class SmallDisk:
    """A size-limited filesystem for the database: tmpfs when this process may mount, else a plain
    directory (the disk-full fault then falls back to RLIMIT_FSIZE on the ingest process)."""

    path: Path
    size_mib: int = 1024
    mounted: bool = False

    def __enter__(self) -> SmallDisk:
        self.path.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0 and shutil.which("mount"):
            done = subprocess.run(
                ["mount", "-t", "tmpfs", "-o", f"size={self.size_mib}m", "gitfeed-soak", str(self.path)],
                capture_output=True,
            )
            self.mounted = done.returncode == 0
        return self

    def __exit__(self, *exc: object) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True)

    def fill(self, leave_bytes: int = 0) -> int:
        """Write a ballast file until the filesystem is full (less `leave_bytes`); returns its size."""
        ballast = self.path / "ballast"
        chunk = b"\0" * (1 << 20)
        written = 0
        with contextlib.suppress(OSError), open(ballast, "wb") as out:
            while True:
                free = shutil.disk_usage(self.path).free - leave_bytes
                if free <= 0:
                    break
                out.write(chunk[: min(len(chunk), free)])
                out.flush()
                written += min(len(chunk), free)
        return written

    def free(self) -> None:
        (self.path / "ballast").unlink(missing_ok=True)


@dataclass
class AttackProcess:
    """A running soaklib/attacks.py: `start` waits for its local PLC and hostile hosts to listen, then
    it attacks the server at `base` on its own schedule; `result` is its closing report."""

    workdir: Path
    base: str
    t0: float
    duration: float
    scale: float
    body_mib: float
    ttl: float
    env: dict[str, str]
    log: object  # a binary file for its stderr
    process: subprocess.Popen | None = None
    lines: list[dict] = field(default_factory=list)

    def start(self, timeout: float = 60.0) -> dict:
        ready = self.workdir / "attacks-ready.json"
        ready.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "scripts.soaklib.attacks", "--base", self.base]
        argv += ["--ready-file", str(ready), f"--t0={self.t0}", f"--duration={self.duration}"]
        argv += [f"--scale={self.scale}", f"--body-mib={self.body_mib}", f"--ttl={self.ttl}"]
        self.process = subprocess.Popen(
            argv, cwd=REPO, env=self.env, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"attacks exited with {self.process.returncode}; see run.log")
            if time.monotonic() > deadline:
                raise RuntimeError("attacks did not start")
            time.sleep(0.05)
        return json.loads(ready.read_text())

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for raw in self.process.stdout:
            with contextlib.suppress(ValueError):
                self.lines.append(json.loads(raw))

    def server_env(self, ready: dict) -> dict[str, str]:
        """What `gitfeed run` needs so the attacks reach what they aim at, and only on loopback."""
        return {
            "FEEDGEN_AUTH_MODE": "optional",  # tokens are checked; normal viewers stay anonymous
            "FEEDGEN_PLC_URL": ready["plc_url"],  # never plc.directory: random issuers go to our own
            "FEEDGEN_DID_WEB_LOCALHOST": "true",  # so the hostile did:web hosts are contacted
            "FEEDGEN_SNAPSHOT_TTL_SECONDS": f"{self.ttl:g}",
            "FEEDGEN_ADMIN_TOKEN": os.urandom(16).hex(),
        }

    def result(self, timeout: float) -> dict | None:
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
            self._reader.join(5)
        return next((line for line in reversed(self.lines) if line.get("done")), None)


@dataclass
class Supervised:
    """A process the soak keeps running, as `gitfeed run`'s supervisor keeps ingest: restarted after any
    exit it did not ask for, 0.5 s doubling to 10 s (reset after a healthy minute). `starts` and
    `exits` are wall-clock times (the load generator's failures are matched against them)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: object  # a binary file for stdout and stderr
    process: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)
    exits: list[tuple[float, int | None]] = field(default_factory=list)
    _stopping: bool = False

    def start(self) -> Supervised:
        self._spawn()
        threading.Thread(target=self._watch, name=f"supervise-{self.name}", daemon=True).start()
        return self

    def _spawn(self) -> None:
        self.process = subprocess.Popen(
            self.argv,
            cwd=REPO,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts.append(time.time())

    def _watch(self) -> None:
        restarts = 0
        while not self._stopping:
            assert self.process is not None
            code = self.process.wait()
            if self._stopping:
                return
            self.exits.append((time.time(), code))
            restarts = 0 if time.time() - self.starts[-1] > 60 else restarts + 1
            time.sleep(min(10.0, 0.5 * 2 ** (restarts - 1)))
            if not self._stopping:
                self._spawn()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None and self.process.poll() is None else None

    def kill(self, sig: int = signal.SIGKILL) -> int | None:
        """Signal the running process (the supervisor restarts it); its pid, or None when none runs."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pid

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping = True
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def health(base: str, timeout: float = 1.0) -> dict | None:
    """`GET /xrpc/_health` of a server (its JSON whatever the status), None when it does not answer."""
    try:
        with urllib.request.urlopen(base + "/xrpc/_health", timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:  # 503 (stale, store away) still says who ranks
        with contextlib.suppress(ValueError, OSError):
            return json.loads(error.read())
        return None
    except (OSError, ValueError):
        return None


@dataclass
class PgCluster:
    """N `gitfeed serve` and one `gitfeed ingest` on a private PostgreSQL cluster (the test helper's:
    Debian's binaries, loopback, trust auth), each supervised; `halt`/`resume` stop and start PostgreSQL."""

    workdir: Path
    servers: int
    env: dict[str, str]
    log: object
    url: str = ""
    ports: list[int] = field(default_factory=list)
    serve: list[Supervised] = field(default_factory=list)
    ingest: Supervised | None = None
    _cluster: object = None

    def start_database(self) -> str:
        from tests.support.stores import Cluster

        self._cluster = Cluster()
        self.url = self._cluster.database()
        return self.url

    @property
    def bases(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def start(self, relay_url: str, ports: list[int]) -> None:
        env = dict(self.env, FEEDGEN_DATABASE_URL=self.url)
        env.pop("FEEDGEN_SQLITE_LOCATION", None)
        cli = [sys.executable, "-m", "gitfeed.cli"]
        self.ports = list(ports)
        self.ingest = Supervised(
            "ingest", [*cli, "ingest", "--source", "relay", "--endpoint", relay_url], env, self.log
        ).start()
        for i, port in enumerate(self.ports):
            argv = [*cli, "serve", "--port", str(port), "--host", "127.0.0.1"]
            self.serve.append(Supervised(f"serve{i}", argv, env, self.log).start())

    def wait_ready(self, timeout: float) -> None:
        """Until every server answers and holds a snapshot of every feed."""
        deadline = time.monotonic() + timeout
        pending = set(range(len(self.serve)))
        while pending and time.monotonic() < deadline:
            for i in list(pending):
                body = health(self.bases[i])
                snapshots = (body or {}).get("cluster", {}).get("snapshots") or {}
                if body and body.get("feeds") and len(snapshots) >= len(body["feeds"]):
                    pending.discard(i)
            time.sleep(0.3)
        if pending:
            raise RuntimeError(f"servers {sorted(pending)} did not come up within {timeout:.0f}s")

    def ranking(self) -> list[int]:
        """The servers whose `/xrpc/_health` says they rank."""
        return [
            i for i, base in enumerate(self.bases) if (health(base) or {}).get("cluster", {}).get("ranks")
        ]

    def pids(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {s.name: s.pid for s in self.serve}
        out["ingest"] = self.ingest.pid if self.ingest else None
        pg = self._cluster.pg.postmaster_pid() if self._cluster is not None else None
        out["postgres"] = pg
        return out

    def halt(self) -> None:
        self._cluster.pg.halt()

    def resume(self) -> None:
        self._cluster.pg.resume()

    def stop(self) -> None:
        """Ingest first (its cursor saved), then the servers; the database stays for the audit."""
        if self.ingest is not None:
            self.ingest.stop(30)
        for server in self.serve:
            server._stopping = True
            if server.process is not None and server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)
        for server in self.serve:
            server.stop(15)

    def close(self) -> None:
        self.stop()
        if self._cluster is not None:
            self._cluster.stop()
            self._cluster = None
