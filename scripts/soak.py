"""Soak test: `gitfeed run` (real processes) under a paced relay, a feed load and scheduled faults.

    python -m scripts.soak [--duration 600] [--rate 2000] [--req-rate 500] [--faults all] [--no-attacks]
        [--attack-scale 1] [--attack-body-mib 64] [--seed-posts 12000] [--json out.json]
    python -m scripts.soak --backend postgres --servers 3 [--pg-seconds 10] [...]

The run starts from a store whose feeds are at their cap, as a server in production does: before
`gitfeed run` starts, `--seed-posts` (12,000) posts are written into the database
(scripts/soaklib/seed.py: real post rows through ingest's `post_row`, 10,500 each in github, ml and
links and 12,000 in all, over FEEDGEN_FEED_MAX_POSTS' 10,000; by `did:plc:soakseed...` authors that no
streamed event names; indexed 1-6 h before the run, created as long before the stream's posts). From an
empty store the feeds fill through the whole run and serving memory grows with them, which is not a
leak; seeded, the RSS verdict measures the steady state. `--seed-posts 0` starts from an empty store.
The audit leaves the seeded posts out of its expected state and fails if any of them is missing or
changed at the end.

A local relay (scripts/soaklib/relay.py) replays a synthetic capture, looped with fresh DIDs, at
`--rate` events/s with `--burst-factor`x bursts of `--burst-seconds` every `--burst-every` s; a
load generator process (scripts/soaklib/loadgen.py) calls getFeedSkeleton on every feed at
`--req-rate`, following cursors for 1..5 pages; faults (scripts/soaklib/faults.py) hit the relay,
the ingest process and the database's disk on a schedule printed at the start. The database lives
on a size-limited tmpfs when this process may mount one.

Printed per minute and overall: ingest lag (events behind the relay's newest seq, and seconds
since the oldest event not yet committed), events/s offered and ingested, posts kept, the ingest
queue (frames read and not yet scored and committed), req/s, p50/p99/max latency, 5xx and failed
requests, RSS of each process, database size. At the end the relay stops producing, ingest
catches up, `gitfeed run` is stopped, and the database is audited against the served stream
(scripts/soaklib/audit.py). Verdicts: lag under 5 s within 30 s after each burst and fault; zero
5xx; p99 <= 100 ms in every minute; RSS growth under 10% after the first minute; audit passes
(every seeded post intact included). Exit status 0 only when every verdict passes.

With `--attacks` (the default) an attacker process (scripts/soaklib/attacks.py) runs beside the load,
on 127.0.0.1 only: old-cursor replays after the snapshot TTL, service JWTs with random or steering
issuers and forged signatures, hostile did:web hosts (huge and trickling documents), oversized bodies
and a one-viewer feedback flood. The server then runs with auth optional (normal viewers stay
anonymous), its PLC directory the attacker's local one, did:web on localhost allowed and a snapshot
TTL of 120 s scaled. The RSS verdict then reads: `gitfeed serve` at most 512 MiB, and every process's
last minute within 10% of its second (the first after warm-up); an `attacks` verdict: no 5xx to any
attack, no forged token accepted, no fetch a steering issuer named.

With `--backend postgres --servers N` the store is a private PostgreSQL cluster (the test helper's,
`tests.support.stores.Cluster`: Debian's binaries on loopback) and, instead of `gitfeed run`, the soak
runs one `gitfeed ingest` and N `gitfeed serve` on ports of their own, all with FEEDGEN_DATABASE_URL,
each restarted by the soak when it dies (`procs.Supervised`, as `gitfeed run` restarts ingest). The load
spreads over the servers and follows every cursor on another server (round robin; loadgen.py); the
faults add SIGKILL of the server that ranks (`/xrpc/_health` `cluster.ranks`) and one PostgreSQL stop
and start (`--pg-seconds`), and leave out the disk fault (SQLite's, on its tmpfs). The attacks go to
the last server. Verdicts then read:
- 5xx: not one 5xx from any server, and no failed request, except connection failures on a server
  that was down: from its kill (or exit) until it answered `/xrpc/_health` again plus SETTLE_SECONDS;
  those are counted apart and printed, as "failover";
- pages: no chain of pages served a post twice, and every chain whose cursors name one published
  snapshot is exactly that snapshot's first posts in order (no skip), across servers (loadgen.py's
  `ChainCheck`, against the `snapshots` table);
- audit, lag, p99, rss as above (rss per process: each server and ingest).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if __package__ in (None, ""):  # run as `python scripts/soak.py`: import the checkout as `-m` does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.soaklib import faults as faultlib
from scripts.soaklib.audit import audit_db, build_audit_scorer, expected_state
from scripts.soaklib.pace import Pace
from scripts.soaklib.procs import (
    AttackProcess,
    PgCluster,
    RelayProcess,
    SmallDisk,
    child_by_command,
    db_bytes,
    db_state,
    health,
    rss_bytes,
)
from scripts.soaklib.seed import DEFAULT_SEED_POSTS, Seed, seed_store, streamed_created_ts
from scripts.soaklib.stream import ServedStream

if TYPE_CHECKING:
    from firehose.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PUBLISHER = "did:plc:soakpublisher"
LAG_OK_SECONDS = 5.0
RECOVER_WITHIN_SECONDS = 30.0
P99_MS = 100.0
RSS_GROWTH = 0.10
SERVE_RSS_MIB = 512.0
ROLES = ("run", "serve", "ingest", "relay", "loadgen", "attacks")
SETTLE_SECONDS = 5.0  # after a killed server answers again, its connection failures still count as failover


def cluster_roles(servers: int) -> tuple[str, ...]:
    return (*(f"serve{i}" for i in range(servers)), "ingest", "relay", "loadgen", "attacks", "postgres")


@dataclass
class SoakConfig:
    duration: float = 600.0
    rate: float = 2000.0
    burst_factor: float = 10.0
    burst_seconds: float = 10.0
    burst_every: float = 60.0
    burst_at: float = 20.0
    req_rate: float = 500.0
    connections: int = 16
    pages: int = 5
    faults: tuple[str, ...] = faultlib.ORDER
    stall_seconds: float | None = None  # default: 60 s scaled with the duration (60 at 10 minutes)
    disk_seconds: float | None = None  # default: 20 s scaled
    malformed: int = 200
    rewind_seconds: float = 10.0  # a restarted relay serves this many seconds' worth of old seqs
    capture: Path | None = None
    capture_events: int = 50_000
    seed: int = 1
    seed_posts: int = DEFAULT_SEED_POSTS  # written before the run (scripts/soaklib/seed.py); 0: none
    scorer: str = "link"
    workdir: Path | None = None
    tmpfs_mib: int = 1024
    drain_seconds: float | None = None  # how long ingest may take to catch up at the end
    env: dict[str, str] = field(default_factory=dict)  # extra FEEDGEN_ settings for `gitfeed run`
    minute: float = 60.0  # the reporting period (shorter in tests)
    attacks: bool = True  # scripts/soaklib/attacks.py beside the normal load
    attack_scale: float = 1.0  # multiplies every attack's rate
    attack_body_mib: float = 64.0  # each oversized body
    snapshot_ttl: float | None = None  # FEEDGEN_SNAPSHOT_TTL_SECONDS with attacks; default 120 s scaled
    backend: str = "sqlite"  # or "postgres": a private PostgreSQL, one ingest and `servers` servers
    servers: int = 1
    pg_seconds: float = 10.0  # how long PostgreSQL stays down in the `pg` fault

    def scaled(self, seconds: float) -> float:
        return max(5.0, seconds * self.duration / 600.0)


@dataclass
class Sample:
    t: float
    head: int
    cursor: int | None
    lag_events: int
    lag_s: float
    events_seen: int
    posts_kept: int
    frames_skipped: int
    queue: int | None
    db_bytes: int
    rss: dict[str, int | None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ensure_capture(cfg: SoakConfig, say: Callable[[str], None]) -> Path:
    path = cfg.capture or Path(tempfile.gettempdir()) / f"gitfeed-bench-{cfg.capture_events}-{cfg.seed}.zst"
    if not path.is_file():
        from tests.support.capture_synth import write_synthetic_capture

        say(f"generating a {cfg.capture_events:,}-event synthetic capture at {path} (once; cached)")
        tmp = path.with_suffix(".partial")
        write_synthetic_capture(tmp, cfg.capture_events, cfg.seed)
        tmp.replace(path)
    return path


class LoadReader(threading.Thread):
    """Collects the load generator's per-second JSON lines, stamped with the harness's clock."""

    def __init__(self, process: subprocess.Popen, clock: Callable[[], float]) -> None:
        super().__init__(daemon=True)
        self.process, self.clock = process, clock
        self.lines: list[tuple[float, dict]] = []
        self.feeds: list[str] = []
        self.chains: dict | None = None

    def run(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            with contextlib.suppress(ValueError):
                line = json.loads(raw)
                if "feeds" in line:
                    self.feeds = line["feeds"]
                elif "chains" in line:
                    self.chains = line
                elif "sent" in line:
                    self.lines.append((self.clock(), line))


class LogTail:
    """The latest ingest queue depth from `gitfeed run`'s log (the ingest's status lines)."""

    PATTERN = re.compile(rb"queue (\d+)")

    def __init__(self, path: Path) -> None:
        self.path, self.offset, self.queue = path, 0, None

    def poll(self) -> int | None:
        with contextlib.suppress(OSError), open(self.path, "rb") as log:
            log.seek(self.offset)
            chunk = log.read()
            self.offset += len(chunk)
            found = self.PATTERN.findall(chunk)
            if found:
                self.queue = int(found[-1])
        return self.queue


def requests_summary(lines: Sequence[tuple[float, dict]], seconds: float) -> dict:
    lat: list[float] = []
    status: Counter[str] = Counter()
    sent = failed = late = 0
    for _, line in lines:
        lat.extend(line["lat_ms"])
        status.update(line["status"])
        sent += line["sent"]
        failed += line["errors"]
        late += line["late"]
    return {
        "requests": sent,
        "req_per_s": sent / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(lat, 0.50),
        "p99_ms": percentile(lat, 0.99),
        "max_ms": max(lat) if lat else math.nan,
        "status": dict(status),
        "5xx": sum(n for code, n in status.items() if code.startswith("5")),
        "failed": failed,
        "late": late,
    }


def minute_row(
    minute: int,
    samples: list[Sample],
    reqs: dict,
    before: Sample | None,
    fault_names: str,
    roles: Sequence[str] = ROLES,
) -> dict:
    first, last = samples[0], samples[-1]
    start = before or first
    span = max(1e-9, last.t - start.t)
    rss = {role: max((s.rss.get(role) or 0) for s in samples) for role in roles}
    return {
        "minute": minute + 1,
        "offered_eps": (last.head - start.head) / span,
        "ingested_eps": (last.events_seen - start.events_seen) / span,
        "lag_max_s": max(s.lag_s for s in samples),
        "lag_end_s": last.lag_s,
        "lag_max_events": max(s.lag_events for s in samples),
        "posts_kept": last.posts_kept,
        "queue_max": max((s.queue or 0) for s in samples),
        **reqs,
        "rss_mib": {role: round(v / 2**20, 1) for role, v in rss.items()},
        "db_mib": round(last.db_bytes / 2**20, 1),
        "faults": fault_names,
    }


HEADER = (
    f"{'min':>3} {'offered/s':>9} {'ingest/s':>9} {'lag max':>8} {'lag end':>8} {'kept':>7} {'queue':>6} "
    f"{'req/s':>6} {'p50':>6} {'p99':>7} {'max':>7} {'5xx':>4} {'fail':>4} "
    f"{'rss serve':>9} {'ingest':>7} {'db MiB':>7}  faults"
)


def cluster_header(servers: int) -> str:
    return HEADER.replace(
        f"{'rss serve':>9} {'ingest':>7}",
        " ".join(f"{f'rss s{i}':>7}" for i in range(servers)) + f" {'ingest':>7}",
    )


def format_row(row: dict) -> str:
    r, rss = row, row["rss_mib"]
    if "serve" not in rss:  # several servers: one RSS column each
        servers = " ".join(f"{v:>7.1f}" for k, v in rss.items() if k.startswith("serve"))
        return (
            f"{r['minute']:>3} {r['offered_eps']:>9.0f} {r['ingested_eps']:>9.0f} {r['lag_max_s']:>7.1f}s "
            f"{r['lag_end_s']:>7.1f}s {r['posts_kept']:>7} {r['queue_max']:>6} {r['req_per_s']:>6.0f} "
            f"{r['p50_ms']:>6.1f} {r['p99_ms']:>7.1f} {r['max_ms']:>7.1f} {r['5xx']:>4} {r['failed']:>4} "
            f"{servers} {rss['ingest']:>7.1f} {r['db_mib']:>7.1f}  {r['faults']}"
        )
    return (
        f"{r['minute']:>3} {r['offered_eps']:>9.0f} {r['ingested_eps']:>9.0f} {r['lag_max_s']:>7.1f}s "
        f"{r['lag_end_s']:>7.1f}s {r['posts_kept']:>7} {r['queue_max']:>6} {r['req_per_s']:>6.0f} "
        f"{r['p50_ms']:>6.1f} {r['p99_ms']:>7.1f} {r['max_ms']:>7.1f} {r['5xx']:>4} {r['failed']:>4} "
        f"{rss['serve']:>9.1f} {rss['ingest']:>7.1f} {r['db_mib']:>7.1f}  {r['faults']}"
    )


def recoveries(
    samples: list[Sample], pace: Pace, fault_list: list[faultlib.Fault], duration: float
) -> list[dict]:
    """For every burst end and fault end: seconds until lag was back under LAG_OK_SECONDS."""
    windows = [(f.started, f.ended) for f in fault_list if f.length and f.started is not None and f.ended]
    marks = [
        (f"{f.name} @{f.started:.0f}s", f.ended if f.ended is not None else f.started)
        for f in fault_list
        if f.started is not None
    ]
    for start, end in pace.bursts(duration):
        # a burst inside a fault (a stall, a full disk) is that fault's to recover from
        if not any(ws <= end <= we for ws, we in windows) and end < duration:
            marks.append((f"burst @{start:.0f}s", end))
    out = []
    for label, end in sorted(marks, key=lambda m: m[1]):
        after = [s for s in samples if s.t >= end]
        back = next((s.t - end for s in after if s.lag_s < LAG_OK_SECONDS), None)
        worst = max((s.lag_s for s in after if back is None or s.t - end <= back), default=0.0)
        out.append(
            {
                "event": label,
                "end": round(end, 1),
                "recovered_after_s": back,
                "worst_lag_s": worst,
                "ok": back is not None and back <= RECOVER_WITHIN_SECONDS,
            }
        )
    return out


def rss_growth(
    samples: list[Sample],
    minute: float,
    duration: float,
    roles: Sequence[str] = ("serve", "ingest", "run"),
    settle: float = 0.0,
) -> dict[str, dict]:
    """RSS per process: the first minute after warm-up against the last minute (flat: within RSS_GROWTH),
    the peak after warm-up, and for `gitfeed serve` the SERVE_RSS_MIB cap.

    Warm-up is the first minute, or `settle` seconds when longer: with attacks, the server's snapshot
    TTL. Until one TTL has passed the server keeps every snapshot it has built (the cursors of that
    time are still valid), so its snapshot store is still filling to what it holds from then on; and
    the old-cursor replays start only then. Growth measured from before would be the store reaching
    its steady size, not a leak; `minutes` still prints every minute's RSS."""
    out = {}
    start = max(minute, settle)
    for role in roles:
        later = [(s.t, s.rss[role]) for s in samples if s.t >= minute and s.rss.get(role)]
        if not later:
            continue
        first = [v for t, v in later if start <= t < start + minute] or [later[0][1]]
        last = [v for t, v in later if t >= min(duration, later[-1][0]) - minute] or [later[-1][1]]
        first_mib, last_mib = sum(first) / len(first) / 2**20, sum(last) / len(last) / 2**20
        peak = max(v for _, v in later) / 2**20
        drift = last_mib / first_mib - 1
        capped = not role.startswith("serve") or peak <= SERVE_RSS_MIB
        out[role] = {
            "from_minute": int(start // minute) + 1,  # as the minutes table numbers them
            "first_minute_mib": round(first_mib, 1),
            "last_minute_mib": round(last_mib, 1),
            "max_mib": round(peak, 1),
            "drift": round(drift, 3),
            "peak_growth": round(peak / first_mib - 1, 3),
            "cap_mib": SERVE_RSS_MIB if role.startswith("serve") else None,
            "ok": abs(drift) <= RSS_GROWTH and capped,
        }
    return out


def attack_ttl(cfg: SoakConfig) -> float:
    """The server's snapshot TTL in a run with attacks (replays need cursors older than it)."""
    return cfg.snapshot_ttl if cfg.snapshot_ttl is not None else cfg.scaled(120.0)


def say_now(text: str) -> None:
    print(text, flush=True)


def run_soak(cfg: SoakConfig, say: Callable[[str], None] = say_now) -> dict:
    """Run the whole soak; returns every figure, the fault log, the audit and the verdicts."""
    workdir = cfg.workdir or Path(tempfile.mkdtemp(prefix="gitfeed-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    capture = ensure_capture(cfg, say)
    pg = cfg.backend == "postgres"
    pace = Pace(cfg.rate, cfg.burst_factor, cfg.burst_seconds, cfg.burst_every, cfg.burst_at)
    stall = cfg.stall_seconds if cfg.stall_seconds is not None else cfg.scaled(60.0)
    disk_s = cfg.disk_seconds if cfg.disk_seconds is not None else cfg.scaled(20.0)
    plan = faultlib.plan(
        cfg.duration,
        cfg.faults,
        pace,
        stall_seconds=stall,
        disk_seconds=disk_s,
        pg_seconds=cfg.pg_seconds,
        malformed=cfg.malformed,
        rewind=int(cfg.rate * cfg.rewind_seconds),
        order=faultlib.PG_ORDER if pg else faultlib.ORDER,
    )
    procs: dict[str, subprocess.Popen] = {}
    roles = cluster_roles(cfg.servers) if pg else ROLES
    cluster = PgCluster(workdir, cfg.servers, {}, None) if pg else None
    with SmallDisk(workdir / "db", cfg.tmpfs_mib) if not pg else contextlib.nullcontext() as disk:
        if cluster is not None:
            db: Path | str = cluster.start_database()
            say(
                f"soak: workdir {workdir}; database {db}: a private PostgreSQL cluster on loopback; "
                f"{cfg.servers} gitfeed serve and one gitfeed ingest, each restarted when it dies"
            )
            say("soak: no disk fault on PostgreSQL (it fills SQLite's tmpfs); the others as scheduled")
        else:
            db = disk.path / "gitfeed.db"
            say(
                f"soak: workdir {workdir}; database {db} on "
                + (
                    f"a {cfg.tmpfs_mib} MiB tmpfs"
                    if disk.mounted
                    else "the plain filesystem (no tmpfs: ulimit -f)"
                )
            )
        from firehose.settings import load_settings

        settings = load_settings()
        seeded = seed_database(db, cfg, capture, settings, say)
        say(
            f"soak: {cfg.duration:.0f}s, relay {cfg.rate:.0f} events/s with {cfg.burst_factor:.0f}x bursts "
            f"of "
            f"{cfg.burst_seconds:.0f}s every {cfg.burst_every:.0f}s (at +{cfg.burst_at:.0f}s), "
            f"getFeedSkeleton {cfg.req_rate:.0f} req/s, scorer {cfg.scorer}, capture {capture}"
        )
        say("soak: fault schedule (seconds into the run):")
        for f in plan:
            say(f"  {f.at:>6.0f}s  {f.name:<9} {f.describe()}")
        relay = RelayProcess(capture, pace, workdir).start()
        t0 = relay.t0
        assert t0 is not None

        def clock() -> float:
            return time.time() - t0

        ports = [free_port() for _ in range(cfg.servers if pg else 1)]
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        port, base = ports[0], bases[0]
        # `gitfeed run` and its children run this checkout's code, whatever is installed
        pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        env = dict(
            os.environ,
            PYTHONPATH=pythonpath,
            FEEDGEN_PUBLISHER_DID=PUBLISHER,
            FEEDGEN_AUTH_MODE="off",
            FEEDGEN_HOSTNAME="soak.local",
            FEEDGEN_SCORER=cfg.scorer,
            # The synthetic capture's posts say they were created on 2026-07-04; without these the
            # feeds' time horizon (7 days, 10 half-lives) leaves every feed empty and the load pages
            # nothing. Ingest prunes by indexed time, so its retention is unchanged in practice.
            FEEDGEN_RETENTION_DAYS="3650",
            FEEDGEN_HALF_LIFE_HOURS="2400",
        )
        run_log = open(workdir / "run.log", "ab")  # noqa: SIM115 - closed at the end
        attacker = None
        if cfg.attacks:
            ttl = attack_ttl(cfg)
            attacker = AttackProcess(
                workdir,
                bases[-1],  # several servers: the last, the one least likely to rank (and be killed)
                t0,
                cfg.duration,
                cfg.attack_scale,
                cfg.attack_body_mib,
                ttl,
                dict(env),
                run_log,
            )
            ready = attacker.start()
            env.update(attacker.server_env(ready))
            say(
                f"soak: attacks on 127.0.0.1: local PLC {ready['plc_url']}, {len(ready['hosts'])} hostile "
                f"did:web hosts; snapshot TTL {ttl:.0f}s, oversized bodies of "
                f"{cfg.attack_body_mib:g} MiB, rates x{cfg.attack_scale:g}"
                + (f"; against server {cfg.servers - 1} ({bases[-1]})" if pg else "")
            )
            procs["attacks"] = attacker.process
        env.update(cfg.env)
        if cluster is not None:
            cluster.env, cluster.log = env, run_log
            cluster.start(relay.url, ports)
        else:
            procs["run"] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gitfeed.cli",
                    "run",
                    "--source",
                    "relay",
                    "--endpoint",
                    relay.url,
                    "--db",
                    str(db),
                    "--port",
                    str(port),
                    "--host",
                    "127.0.0.1",
                ],
                cwd=REPO,
                env=env,
                stdout=run_log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        injector = faultlib.Injector(
            relay, lambda: procs["run"].pid if "run" in procs else 0, disk, str(db), say, cluster=cluster
        )
        samples: list[Sample] = []
        rows: list[dict] = []
        watch: list[tuple[float, list[bool], list[bool]]] = []  # several servers: (t, up, ranks) each second
        audit_result = None
        attack_result = None
        caught_up = False
        final_db = 0
        try:
            if cluster is not None:
                cluster.wait_ready(timeout=180)
            else:
                wait_health(base, procs["run"], timeout=120)
            loadgen = [sys.executable, "-m", "scripts.soaklib.loadgen"]
            for each in bases:
                loadgen += ["--base", each]
            loadgen += ["--rate", str(cfg.req_rate), "--duration", str(max(1.0, cfg.duration - clock()))]
            loadgen += ["--connections", str(cfg.connections), "--pages", str(cfg.pages)]
            if pg:
                loadgen += ["--check-chains", "--store", str(db)]
            procs["loadgen"] = subprocess.Popen(
                loadgen,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=run_log,
                text=True,
            )
            reader = LoadReader(procs["loadgen"], clock)
            reader.start()
            tail = LogTail(workdir / "run.log")
            up_at = clock()
            if cluster is not None:
                ranking = cluster.ranking()
                say(
                    f"soak: {cfg.servers} servers up at {', '.join(bases)} after {up_at:.1f}s "
                    f"(ranking: {ranking}); load generator started"
                )
                say(cluster_header(cfg.servers))
            else:
                say(f"soak: server up at {base} after {up_at:.1f}s; load generator started")
                say(HEADER)
            pending = list(plan)
            active: list[faultlib.Fault] = []
            minute_index = 0
            while (now := clock()) < cfg.duration:
                for f in [f for f in pending if f.at <= now]:
                    pending.remove(f)
                    f.started = clock()
                    injector.begin(f)
                    if f.length:
                        active.append(f)
                    else:
                        f.ended = f.started
                    say(f"  ** {f.started:6.1f}s fault {f.name}: {f.describe()} ({f.note})")
                for f in [f for f in active if (f.started or 0) + f.length <= now]:
                    active.remove(f)
                    injector.end(f)
                    f.ended = clock()
                    say(
                        f"  ** {f.ended:6.1f}s fault {f.name} over"
                        + (f" ({f.note})" if f.name == "pg" else "")
                    )
                samples.append(
                    sample(relay, pace, db, procs, tail, clock(), cluster, samples[-1] if samples else None)
                )
                if cluster is not None:
                    answers = [health(b, timeout=0.5) for b in bases]
                    watch.append(
                        (
                            clock(),
                            [a is not None for a in answers],
                            [bool((a or {}).get("cluster", {}).get("ranks")) for a in answers],
                        )
                    )
                if clock() >= (minute_index + 1) * cfg.minute:
                    rows.append(close_minute(minute_index, samples, reader, plan, cfg.minute, roles))
                    say(format_row(rows[-1]))
                    minute_index += 1
                time.sleep(max(0.0, 1.0 - (clock() - now)))
            for f in active:
                injector.end(f)
                f.ended = clock()
            if samples and samples[-1].t > minute_index * cfg.minute + 5:
                rows.append(close_minute(minute_index, samples, reader, plan, cfg.minute, roles))
                say(format_row(rows[-1]))
            with contextlib.suppress(subprocess.TimeoutExpired):
                procs["loadgen"].wait(60 if pg else 30)
            reader.join(5)
            if attacker is not None:
                attack_result = attacker.result(timeout=60)
            # The end: the relay stops producing, ingest catches up, the service stops, the audit.
            frozen = relay.call("/control/freeze", timeout=10)
            last_seq = frozen["head"] if frozen else relay.head()
            drain = cfg.drain_seconds if cfg.drain_seconds is not None else max(60.0, cfg.duration * 0.3)
            say(f"soak: relay frozen at seq {last_seq}; waiting up to {drain:.0f}s for ingest to catch up")
            deadline = time.monotonic() + drain
            while (db_state(db).get("cursor") or 0) < last_seq and time.monotonic() < deadline:
                time.sleep(0.5)
            caught_up = (db_state(db).get("cursor") or 0) >= last_seq
            what = f"{cfg.servers} servers and ingest" if pg else "gitfeed run"
            say(
                f"soak: ingest {'caught up' if caught_up else 'did NOT catch up'} "
                f"(cursor {db_state(db).get('cursor')}); stopping {what}"
            )
            if cluster is not None:
                cluster.stop()
            else:
                stop_process(procs["run"], 30)
            say("soak: auditing the database against the served stream")
            scorer = build_audit_scorer(cfg.scorer, settings)
            stream = ServedStream.from_capture(capture)
            exp = expected_state(
                stream,
                last_seq,
                scorer,
                settings.thresholds,
                tolerance=1e-3 if cfg.scorer == "model" else 0.0,
            )
            audit_result = audit_db(
                db,
                exp,
                score_tolerance=1e-6 if cfg.scorer == "link" else 1e-3,
                seeded=seeded.posts if seeded else None,
            )
            say(audit_result.summary())
            final_db = db_state(db).get("bytes", 0) if pg else db_bytes(db)
        finally:
            for name in ("attacks", "loadgen", "run"):
                if name in procs:
                    stop_process(procs[name], 15)
            relay.stop()
            if cluster is not None:
                cluster.close()
            run_log.close()
    load = requests_summary(reader.lines if "loadgen" in procs else [], max(1e-9, cfg.duration))
    result = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
        "disk": ("postgres" if pg else "tmpfs" if disk.mounted else "ulimit"),
        "minutes": rows,
        "faults": [asdict(f) for f in plan],
        "recoveries": recoveries(samples, pace, plan, cfg.duration),
        "rss": rss_growth(
            samples,
            cfg.minute,
            cfg.duration,
            *([roles[: cfg.servers + 1]] if pg else []),
            settle=attack_ttl(cfg) if cfg.attacks else 0.0,
        ),
        "requests": load,
        "ingest": {
            "events": samples[-1].events_seen if samples else 0,
            "events_per_s": (samples[-1].events_seen / max(1e-9, samples[-1].t)) if samples else 0,
            "offered": samples[-1].head if samples else 0,
            "posts_kept": samples[-1].posts_kept if samples else 0,
            "lag_max_s": max((s.lag_s for s in samples), default=0.0),
            "lag_p50_s": percentile([s.lag_s for s in samples], 0.5),
            "caught_up": caught_up,
            "db_mib": round(final_db / 2**20, 1),
        },
        "seed": {"posts": len(seeded.posts), "per_feed": seeded.per_feed} if seeded else None,
        "audit": asdict(audit_result) if audit_result else None,
        "attacks": attack_result if cfg.attacks else None,
        "attacks_expected": cfg.attacks,
        "workdir": str(workdir),
    }
    if cluster is not None:
        result["cluster"] = cluster_figures(cluster, watch, plan, reader if "loadgen" in procs else None, t0)
        load["failover"] = result["cluster"]["failover"]
        load["failed"] = result["cluster"]["failed_live"]
    result["audit_summary"] = audit_result.summary() if audit_result else "no audit"
    result["verdicts"] = verdicts(result)
    return result


def seed_database(
    db: Path | str, cfg: SoakConfig, capture: Path, settings: Settings, say: Callable[[str], None]
) -> Seed | None:
    """Before the run: `cfg.seed_posts` posts in the store, so every feed starts at its cap
    (scripts/soaklib/seed.py); None with `--seed-posts 0`."""
    if cfg.seed_posts <= 0:
        say("soak: no seed (--seed-posts 0): the feeds start empty and fill through the run")
        return None
    seeded = seed_store(
        db,
        cfg.seed_posts,
        settings.thresholds,
        created_before=streamed_created_ts(capture),
        rng_seed=cfg.seed,
    )
    cap = int(cfg.env.get("FEEDGEN_FEED_MAX_POSTS", settings.feed_max_posts))
    say(f"soak: seeded {seeded.describe(cap)}")
    return seeded


def wait_health(base: str, run: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.poll() is not None:
            raise RuntimeError(f"gitfeed run exited with {run.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(base + "/xrpc/_health", timeout=1) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("the server did not come up")


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.kill()
        process.wait()


def sample(
    relay: RelayProcess,
    pace: Pace,
    db: Path | str,
    procs: dict,
    tail: LogTail,
    t: float,
    cluster: PgCluster | None = None,
    previous: Sample | None = None,
) -> Sample:
    head = relay.head()
    state = db_state(db)
    if cluster is not None and "error" in state and previous is not None:
        # PostgreSQL down: ingest commits nothing meanwhile, so the last cursor read is still true
        state = {
            "cursor": previous.cursor,
            "counters": {
                "events_seen": previous.events_seen,
                "posts_kept": previous.posts_kept,
                "frames_skipped": previous.frames_skipped,
            },
            "bytes": previous.db_bytes,
        }
    cursor = state.get("cursor")
    counters = state.get("counters", {})
    behind = max(0, head - (cursor or 0))
    lag_s = max(0.0, t - pace.time_of((cursor or 0) + 1)) if behind else 0.0
    if cluster is not None:
        pids = cluster.pids()
    else:
        run_pid = procs["run"].pid
        pids = {
            "run": run_pid,
            "serve": child_by_command(run_pid, "serve"),
            "ingest": child_by_command(run_pid, "ingest"),
        }
    pids.update(
        {
            "relay": relay.pid,
            "loadgen": procs["loadgen"].pid if "loadgen" in procs else None,
            "attacks": procs["attacks"].pid if "attacks" in procs else None,
        }
    )
    return Sample(
        t=t,
        head=head,
        cursor=cursor,
        lag_events=behind,
        lag_s=lag_s,
        events_seen=counters.get("events_seen", 0),
        posts_kept=counters.get("posts_kept", 0),
        frames_skipped=counters.get("frames_skipped", 0),
        queue=tail.poll(),
        db_bytes=state.get("bytes", 0) if cluster is not None else db_bytes(db),
        rss={role: rss_bytes(pid) if pid else None for role, pid in pids.items()},
    )


def close_minute(
    index: int,
    samples: list[Sample],
    reader: LoadReader,
    plan: list,
    minute: float,
    roles: Sequence[str] = ROLES,
) -> dict:
    lo, hi = index * minute, (index + 1) * minute
    inside = [s for s in samples if lo <= s.t < hi] or samples[-1:]
    before = next((s for s in reversed(samples) if s.t < lo), None)
    lines = [(t, line) for t, line in reader.lines if lo <= t < hi]
    names = ", ".join(f.name for f in plan if f.started is not None and lo <= f.started < hi)
    span = min(hi, inside[-1].t) - max(lo, (before.t if before else inside[0].t))
    return minute_row(index, inside, requests_summary(lines, max(1.0, span)), before, names, roles)


def down_windows(
    cluster: PgCluster, watch: list[tuple[float, list[bool], list[bool]]], t0: float, end: float
) -> dict[int, list[tuple[float, float]]]:
    """Per server, the spans (seconds into the run) it was down: from a second before it exited (a
    SIGKILL, or a crash) until it answered `/xrpc/_health` again, plus SETTLE_SECONDS."""
    out: dict[int, list[tuple[float, float]]] = {}
    for i, server in enumerate(cluster.serve):
        for wall, _code in server.exits:
            gone = wall - t0
            back = next((t for t, up, _ in watch if t > gone and up[i]), end)
            out.setdefault(i, []).append((gone - 1.0, back + SETTLE_SECONDS))
    return out


def cluster_figures(
    cluster: PgCluster,
    watch: list[tuple[float, list[bool], list[bool]]],
    plan: list[faultlib.Fault],
    reader: LoadReader | None,
    t0: float,
) -> dict:
    """Several servers: failures placed against the servers' down spans, the takeover after the
    ranking server's kill, what was served during the PostgreSQL outage, and the page chains' check."""
    end = watch[-1][0] if watch else 0.0
    windows = down_windows(cluster, watch, t0, end)
    lines = reader.lines if reader is not None else []
    failover: Counter[str] = Counter()
    live: Counter[str] = Counter()
    live_at: list[tuple[float, int, str]] = []
    by_server: dict[str, Counter[str]] = {}
    unlogged = 0
    for _, line in lines:
        fails = line.get("fails", [])
        unlogged += line["errors"] - len(fails)
        for wall, server, kind in fails:
            t = wall - t0
            down = any(lo <= t <= hi for lo, hi in windows.get(server, []))
            (failover if down else live)[f"server {server} {kind}"] += 1
            if not down and len(live_at) < 20:
                live_at.append((round(t, 1), server, kind))
        for server, status in line.get("by_server", {}).items():
            by_server.setdefault(server, Counter()).update(status)
    leader = None
    for f in plan:
        if f.name == "leader" and f.started is not None and "server" in f.detail:
            killed = f.detail["server"]
            after = [(t, up, ranks) for t, up, ranks in watch if t >= f.started]
            takeover = next(
                (
                    t - f.started
                    for t, _, ranks in after
                    if any(r for j, r in enumerate(ranks) if j != killed)
                ),
                None,
            )
            back = next((t - f.started for t, up, _ in after if up[killed]), None)
            leader = {"killed": killed, "at": round(f.started, 1), "takeover_s": takeover, "back_s": back}
    outage = None
    for f in plan:
        if f.name == "pg" and f.started is not None:
            hi = (f.ended or f.started) + SETTLE_SECONDS
            inside = [line for t, line in lines if f.started <= t <= hi]
            status: Counter[str] = Counter()
            for line in inside:
                status.update(line["status"])
            outage = {
                "at": round(f.started, 1),
                "seconds": round((f.ended or f.started) - f.started, 1),
                "requests": sum(line["sent"] for line in inside),
                "status": dict(status),
                "note": f.note,
            }
    return {
        "servers": len(cluster.serve),
        "restarts": {
            s.name: len(s.exits) for s in cluster.serve + ([cluster.ingest] if cluster.ingest else [])
        },
        "down": {str(i): [(round(lo, 1), round(hi, 1)) for lo, hi in spans] for i, spans in windows.items()},
        "failover": sum(failover.values()),
        "failover_detail": dict(failover),
        "failed_live": sum(live.values()) + max(0, unlogged),
        "failed_live_detail": dict(live) | ({"not logged": unlogged} if unlogged > 0 else {}),
        "failed_live_at": live_at,
        "by_server": {k: dict(v) for k, v in sorted(by_server.items())},
        "leader": leader,
        "pg_outage": outage,
        "ranking_at_end": [i for i, r in enumerate(watch[-1][2]) if r] if watch else [],
        "chains": (reader.chains if reader is not None else None),
    }


def pages_verdict(chains: dict | None) -> dict:
    """No post twice in any chain; every chain tied to one published snapshot is its prefix, in order."""
    if not chains:
        return {"ok": False, "detail": "the load generator gave no chain report"}
    c = chains["chains"]
    ok = (
        c.get("repeats", 0) == 0
        and c.get("skips", 0) == 0
        and c.get("verified_multi_page", 0) > 0
        and c.get("cross_server", 0) > 0
        and c.get("check_failed", 0) == 0
    )
    detail = (
        f"{c.get('chains', 0):,} chains ({c.get('multi_page', 0):,} of 2+ pages, "
        f"{c.get('cross_server', 0):,} "
        f"across servers): repeats {c.get('repeats', 0)}, skips {c.get('skips', 0)}; "
        f"{c.get('verified', 0):,} verified against their published snapshot "
        f"({c.get('verified_multi_page', 0):,} of 2+ pages), {c.get('snapshot_changed', 0)} through a frame "
        f"fallback (repeats only), {c.get('unverified_pruned', 0)} snapshot pruned before the check, "
        f"{c.get('no_cursor', 0)} one-page feeds, {c.get('unverified_backlog', 0)} not checked (backlog)"
    )
    if chains.get("examples"):
        detail += f"; e.g. {chains['examples'][:2]}"
    return {"ok": ok, "detail": detail}


def verdicts(result: dict) -> dict[str, dict]:
    rec = result["recoveries"]
    minutes = result["minutes"]
    load = result["requests"]
    worst_p99 = max((m["p99_ms"] for m in minutes if not math.isnan(m["p99_ms"])), default=math.nan)
    slow = [r["event"] for r in rec if not r["ok"]]
    rss_from = next(iter(result["rss"].values()), {}).get("from_minute", 2)
    return {
        "lag": {
            "ok": not slow,
            "detail": f"{len(rec) - len(slow)}/{len(rec)} bursts and faults back under "
            f"{LAG_OK_SECONDS:.0f}s lag within {RECOVER_WITHIN_SECONDS:.0f}s"
            + (f"; not: {slow}" if slow else ""),
        },
        "5xx": {
            "ok": load["5xx"] == 0 and load["failed"] == 0,
            "detail": f"{load['5xx']} 5xx, {load['failed']} failed requests of {load['requests']}"
            + (
                f" ({load['failover']} connection failures on a killed server until it answered again "
                f"+ {SETTLE_SECONDS:.0f}s, counted apart)"
                if "failover" in load
                else ""
            ),
        },
        "p99": {
            "ok": not math.isnan(worst_p99) and worst_p99 <= P99_MS,
            "detail": f"worst minute p99 {worst_p99:.1f} ms (overall {load['p99_ms']:.1f} ms)",
        },
        "rss": {
            "ok": all(v["ok"] for v in result["rss"].values()),
            "detail": f"minute {rss_from}->last minute (peak): "
            + ", ".join(
                f"{k} {v['first_minute_mib']}->{v['last_minute_mib']} MiB ({v['drift']:+.0%}; peak "
                f"{v['max_mib']}" + ("" if v["cap_mib"] is None else f" <= {v['cap_mib']:.0f}") + ")"
                for k, v in result["rss"].items()
            ),
        },
        "audit": {"ok": bool(result["audit"] and result["audit"]["ok"]), "detail": result["audit_summary"]},
        **({"pages": pages_verdict(result["cluster"]["chains"])} if "cluster" in result else {}),
        **({"attacks": attack_verdict(result["attacks"])} if result.get("attacks_expected") else {}),
    }


def attack_verdict(report: dict | None) -> dict:
    """Every attack ran; the server answered none of them with a 5xx, accepted no forged token, and
    fetched nothing a steering issuer named."""
    if not report:
        return {"ok": False, "detail": "the attack process gave no report"}
    attacks = report["attacks"]
    idle = [name for name, a in attacks.items() if a["sent"] == 0]
    fives = {name: a["5xx"] for name, a in attacks.items() if a["5xx"]}
    accepted = sum(attacks[name]["status"].get("200", 0) for name in ("tokens", "hostile"))
    steered = report["steered"]
    problems = (
        ([f"never ran: {idle}"] if idle else [])
        + ([f"5xx: {fives}"] if fives else [])
        + ([f"{accepted} forged tokens accepted"] if accepted else [])
        + ([f"{len(steered)} fetches steered: {steered[:3]}"] if steered else [])
    )
    sent = sum(a["sent"] for a in attacks.values())
    return {
        "ok": not problems,
        "detail": f"{sent:,} attack requests, none answered 5xx, no forged token accepted, no steered fetch"
        if not problems
        else "; ".join(problems),
    }


def print_summary(result: dict, say: Callable[[str], None] = say_now) -> None:
    ing, load = result["ingest"], result["requests"]
    say("")
    say(
        f"overall: offered {ing['offered']:,} events, ingested {ing['events']:,} "
        f"({ing['events_per_s']:.0f}/s); "
        f"posts kept {ing['posts_kept']:,}; lag p50 {ing['lag_p50_s']:.1f}s, max {ing['lag_max_s']:.1f}s; "
        f"db {ing['db_mib']} MiB"
    )
    say(
        f"requests: {load['requests']:,} ({load['req_per_s']:.0f}/s), p50 {load['p50_ms']:.1f} ms, "
        f"p99 {load['p99_ms']:.1f} ms, max {load['max_ms']:.1f} ms, 5xx {load['5xx']}, "
        f"failed {load['failed']}, "
        f"started late {load['late']}, status {load['status']}"
    )
    say("recovery (seconds until lag < 5 s after the event ended):")
    for r in result["recoveries"]:
        back = "never" if r["recovered_after_s"] is None else f"{r['recovered_after_s']:.0f}s"
        say(
            f"  {r['event']:<18} back after {back:>6}  worst lag {r['worst_lag_s']:.1f}s  "
            f"{'ok' if r['ok'] else 'SLOW'}"
        )
    if result.get("cluster"):
        print_cluster(result["cluster"], say)
    if result.get("attacks"):
        print_attacks(result["attacks"], say)
    say("verdicts:")
    for name, v in result["verdicts"].items():
        say(f"  {'PASS' if v['ok'] else 'FAIL'}  {name:<6} {v['detail'].splitlines()[0]}")


def print_cluster(c: dict, say: Callable[[str], None] = say_now) -> None:
    say(
        f"servers ({c['servers']} on PostgreSQL): status per server {c['by_server']}; "
        f"restarts {c['restarts']}"
    )
    leader = c.get("leader")
    if leader:
        takeover = "never" if leader["takeover_s"] is None else f"{leader['takeover_s']:.1f}s"
        back = "never" if leader["back_s"] is None else f"{leader['back_s']:.1f}s"
        say(
            f"  ranking server {leader['killed']} SIGKILLed at {leader['at']}s: another ranked after "
            f"{takeover} "
            f"(health polled each second), the killed one answered again after {back}"
        )
    outage = c.get("pg_outage")
    if outage:
        say(
            f"  PostgreSQL down {outage['seconds']}s at {outage['at']}s ({outage['note']}): "
            f"{outage['requests']} "
            f"requests meanwhile (+{SETTLE_SECONDS:.0f}s), status {outage['status']}"
        )
    say(f"  down spans (s into the run, +{SETTLE_SECONDS:.0f}s settle): {c['down']}")
    say(f"  failover (connection failures on a server while down): {c['failover']} {c['failover_detail']}")
    say(f"  failed on a live server: {c['failed_live']} {c['failed_live_detail']}")
    if c.get("failed_live_at"):
        say(f"    first ones (s into the run, server, kind): {c['failed_live_at']}")
    say(f"  ranking at the end: {c['ranking_at_end']}")
    chains = c.get("chains")
    if chains:
        say(
            f"  page chains: {chains['chains']}"
            + (f"; examples {chains['examples']}" if chains["examples"] else "")
        )


def print_attacks(report: dict, say: Callable[[str], None] = say_now) -> None:
    say("attacks (all to 127.0.0.1; status counts, connection failures, latency):")
    for name, a in report["attacks"].items():
        say(
            f"  {name:<14} {a['sent']:>6} sent  {a['status']}  failed {a['errors']} "
            f"{a.get('failures') or ''}  p50 {a['p50_ms']:.1f} ms  p99 {a['p99_ms']:.1f} ms  "
            f"max {a['max_ms']:.1f} ms"
        )
    for name, a in report["attacks"].items():
        if a.get("refusals"):
            say(f"  {name} refused as: {a['refusals']}")
    say(
        f"  cursors captured {report['cursors_captured']}; token kinds {report['token_kinds']}; "
        f"slots skipped (in flight at the cap, or no cursor old enough) {report.get('skipped') or {}}"
    )
    for behaviour, h in report["hosts"].items():
        say(
            f"  hostile host {behaviour:<15} x{h['hosts']}: {h['connections']} connections from the server, "
            f"{h['mib_sent']} MiB sent, longest held {h['max_hold_s']}s"
        )
    say(
        f"  local PLC: {report['plc']['requests']} lookups ({report['plc']['distinct']} DIDs); "
        f"steered fetches {len(report['steered'])}"
    )
    metrics = report.get("metrics") or {}
    if metrics:
        say(
            "  server counters at the end: "
            + ", ".join(
                f"{name.replace('gitfeed_memory_bounds', '').strip('{}').replace('counter=', '')}={value:g}"
                for name, value in metrics.items()
            )
        )


def parse_args(argv: Sequence[str] | None = None) -> SoakConfig:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--rate", type=float, default=2000.0, help="relay events/s outside bursts")
    parser.add_argument("--burst-factor", type=float, default=10.0)
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--burst-every", type=float, default=60.0, help="0: no bursts")
    parser.add_argument("--req-rate", type=float, default=500.0, help="getFeedSkeleton requests/s")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--faults",
        default="all",
        help=f"comma list of {','.join(faultlib.ORDER)} (postgres: {','.join(faultlib.PG_ORDER)}), "
        "all or none",
    )
    parser.add_argument("--stall-seconds", type=float, help="default: 60 s scaled with --duration")
    parser.add_argument("--disk-seconds", type=float, help="default: 20 s scaled with --duration")
    parser.add_argument("--capture", type=Path, help="default: a synthetic capture, generated once")
    parser.add_argument("--capture-events", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--seed-posts",
        type=int,
        default=DEFAULT_SEED_POSTS,
        help=f"posts written into the store before the run, so every feed starts at its cap (default "
        f"{DEFAULT_SEED_POSTS:,}); 0: start from an empty store",
    )
    parser.add_argument(
        "--scorer",
        choices=["link", "model"],
        default="link",
        help="what ingest scores with (FEEDGEN_SCORER) and the audit replays",
    )
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--tmpfs-mib", type=int, default=1024)
    parser.add_argument(
        "--attacks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run scripts/soaklib/attacks.py beside the load (default on; --no-attacks: off)",
    )
    parser.add_argument("--attack-scale", type=float, default=1.0, help="multiplies every attack's rate")
    parser.add_argument("--attack-body-mib", type=float, default=64.0, help="size of each oversized body")
    parser.add_argument(
        "--snapshot-ttl", type=float, help="FEEDGEN_SNAPSHOT_TTL_SECONDS with attacks (default 120 s scaled)"
    )
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: a private PostgreSQL, one gitfeed ingest and --servers gitfeed serve",
    )
    parser.add_argument("--servers", type=int, default=3, help="postgres: how many gitfeed serve (default 3)")
    parser.add_argument(
        "--pg-seconds", type=float, default=10.0, help="postgres: how long the pg fault stops it (default 10)"
    )
    parser.add_argument("--json", type=Path, help="write every figure here")
    args = parser.parse_args(argv)
    order = faultlib.PG_ORDER if args.backend == "postgres" else faultlib.ORDER
    names = (
        order
        if args.faults == "all"
        else ()
        if args.faults == "none"
        else tuple(n.strip() for n in args.faults.split(",") if n.strip())
    )
    unknown = set(names) - set(order) - ({"disk"} if args.backend == "postgres" else set())
    if unknown:
        parser.error(f"unknown faults: {sorted(unknown)}")
    cfg = SoakConfig(
        duration=args.duration,
        rate=args.rate,
        burst_factor=args.burst_factor,
        burst_seconds=args.burst_seconds,
        burst_every=args.burst_every,
        req_rate=args.req_rate,
        connections=args.connections,
        faults=names,
        stall_seconds=args.stall_seconds,
        disk_seconds=args.disk_seconds,
        capture=args.capture,
        capture_events=args.capture_events,
        seed=args.seed,
        seed_posts=args.seed_posts,
        scorer=args.scorer,
        workdir=args.workdir,
        tmpfs_mib=args.tmpfs_mib,
        attacks=args.attacks,
        attack_scale=args.attack_scale,
        attack_body_mib=args.attack_body_mib,
        snapshot_ttl=args.snapshot_ttl,
        backend=args.backend,
        servers=args.servers if args.backend == "postgres" else 1,
        pg_seconds=args.pg_seconds,
    )
    cfg.json = args.json  # type: ignore[attr-defined]
    return cfg


def main(argv: Sequence[str] | None = None) -> int:
    cfg = parse_args(argv)
    result = run_soak(cfg)
    print_summary(result)
    out = getattr(cfg, "json", None)
    if out:
        Path(out).write_text(json.dumps(result, indent=2, default=str))
    return 0 if all(v["ok"] for v in result["verdicts"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
