"""The fault injector: a schedule of faults spread over a run, and how each one is done and undone.

Faults (each a real event, done from outside the service):
- drop: the relay resets every connection (TCP RST, no close frame);
- malformed: the relay sends a burst of frames no decoder can read (none carries a seq);
- kill: SIGKILL of the ingest process (`gitfeed run`'s supervisor restarts it);
- restart: the relay process is killed and a new one serves from an older cursor (duplicates);
- stall: the relay is SIGSTOPped (TCP stays open, nothing is sent) for `stall_seconds`, then SIGCONT;
- disk: the database's filesystem is filled to the last byte for `disk_seconds`, then freed
  (without a mountable tmpfs: RLIMIT_FSIZE on the ingest process, lifted at the end).

With `--backend postgres` (`PG_ORDER`; disk is SQLite's, on its tmpfs, and not done there):
- kill: SIGKILL of `gitfeed ingest` (the soak's own restart loop restarts it);
- leader: SIGKILL of the server whose `/xrpc/_health` says it ranks (restarted the same way);
- pg: PostgreSQL stopped (`pg_ctl stop -m fast`: every client disconnected) for `pg_seconds`, then
  started again on the same port with the same data.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scripts.soaklib.pace import Pace
from scripts.soaklib.procs import PgCluster, RelayProcess, SmallDisk, child_by_command, db_bytes

ORDER = ("drop", "malformed", "kill", "restart", "disk", "stall")
PG_ORDER = ("drop", "malformed", "kill", "leader", "restart", "pg", "stall")
EFFECT = {
    "drop": "relay resets every connection",
    "malformed": "relay sends {n} malformed frames",
    "kill": "SIGKILL the ingest process",
    "restart": "relay killed; a new relay serves from {rewind} seqs before each cursor",
    "stall": "relay SIGSTOPped for {length:.0f}s",
    "disk": "database filesystem full for {length:.0f}s, then freed",
    "leader": "SIGKILL the server that ranks (restarted)",
    "pg": "PostgreSQL stopped for {length:.0f}s, then started again",
}


@dataclass
class Fault:
    name: str
    at: float  # seconds into the run
    length: float = 0.0  # how long it lasts (stall, disk); 0: instantaneous
    detail: dict = field(default_factory=dict)
    started: float | None = None  # actual times, seconds into the run
    ended: float | None = None
    note: str = ""

    def describe(self) -> str:
        return EFFECT[self.name].format(length=self.length, **self.detail)


def plan(
    duration: float,
    names: Sequence[str],
    pace: Pace,
    *,
    stall_seconds: float,
    disk_seconds: float,
    pg_seconds: float = 10.0,
    malformed: int = 200,
    rewind: int = 20_000,
    first: float = 0.12,
    last: float = 0.8,
    order: Sequence[str] = ORDER,
) -> list[Fault]:
    """Spread `names` (in `order`) over [first, last] of the run, each moved out of a burst."""
    names = [n for n in order if n in names]
    if not names:
        return []
    step = (last - first) * duration / max(1, len(names) - 1)
    bursts = pace.bursts(duration)
    faults = []
    for i, name in enumerate(names):
        at = first * duration + i * step
        for start, end in bursts:  # out of the burst: after it, or before it near the end of the run
            if start - 3 <= at < end + 3:
                at = end + 3 if end + 3 <= last * duration else max(0.0, start - 5)
        length = {"stall": stall_seconds, "disk": disk_seconds, "pg": pg_seconds}.get(name, 0.0)
        detail = {"malformed": {"n": malformed}, "restart": {"rewind": rewind}}.get(name, {})
        faults.append(Fault(name, round(at, 1), length, detail))
    return faults


@dataclass
class Injector:
    """Does and undoes faults on the live processes (`cluster`: the PostgreSQL layout, else `gitfeed run`)."""

    relay: RelayProcess
    run_pid: Callable[[], int]
    disk: SmallDisk | None
    db: str
    log: Callable[[str], None] = print
    cluster: PgCluster | None = None

    def begin(self, fault: Fault) -> None:
        name = fault.name
        if self.cluster is not None and name in ("kill", "leader", "pg"):
            self._begin_cluster(fault)
        elif name == "drop":
            fault.note = "dropped" if self.relay.call("/control/drop") is not None else "relay did not answer"
        elif name == "malformed":
            answer = self.relay.call(f"/control/malformed?n={fault.detail['n']}")
            fault.note = "queued" if answer is not None else "relay did not answer"
        elif name == "kill":
            pid = child_by_command(self.run_pid(), "ingest")
            if pid is None:
                fault.note = "no ingest process to kill"
            else:
                os.kill(pid, signal.SIGKILL)
                fault.note = f"killed pid {pid}"
        elif name == "restart":
            self.relay.stop(kill=True)
            self.relay.rewind = fault.detail["rewind"]
            self.relay.start()
            fault.note = f"new relay pid {self.relay.pid}"
        elif name == "stall":
            self.relay.signal(signal.SIGSTOP)
            fault.note = "relay stopped"
        elif name == "disk":
            if self.disk.mounted:
                fault.note = f"filled with {self.disk.fill() / 2**20:.0f} MiB of ballast"
            else:
                pid = child_by_command(self.run_pid(), "ingest")
                limit = db_bytes(Path(self.db))
                if pid is not None:
                    subprocess.run(["prlimit", f"--pid={pid}", f"--fsize={limit}"], check=False)
                fault.note = f"RLIMIT_FSIZE {limit} on ingest pid {pid} (no tmpfs here)"

    def _begin_cluster(self, fault: Fault) -> None:
        cluster = self.cluster
        assert cluster is not None
        if fault.name == "kill":
            pid = cluster.ingest.kill() if cluster.ingest else None
            fault.note = f"killed pid {pid}" if pid else "no ingest process to kill"
        elif fault.name == "leader":
            ranking = cluster.ranking()
            if len(ranking) != 1:
                fault.note = f"no single ranking server to kill (ranking: {ranking})"
                return
            server = cluster.serve[ranking[0]]
            pid = server.kill()
            fault.detail["server"] = ranking[0]
            fault.note = f"killed {server.name} (pid {pid}), the one that ranked"
        elif fault.name == "pg":
            started = time.monotonic()
            cluster.halt()
            fault.note = f"stopped in {time.monotonic() - started:.1f}s"

    def end(self, fault: Fault) -> None:
        if fault.name == "pg" and self.cluster is not None:
            started = time.monotonic()
            self.cluster.resume()
            fault.note += f"; started again in {time.monotonic() - started:.1f}s"
        elif fault.name == "stall":
            self.relay.signal(signal.SIGCONT)
        elif fault.name == "disk":
            if self.disk.mounted:
                self.disk.free()
            else:
                pid = child_by_command(self.run_pid(), "ingest")
                if pid is not None:
                    subprocess.run(["prlimit", f"--pid={pid}", "--fsize=unlimited"], check=False)
