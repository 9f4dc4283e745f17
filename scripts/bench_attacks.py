"""What each soak attack costs normal viewers: `gitfeed serve` alone on a seeded store, the soak's load
generator at a fixed rate, and one attack at a time beside it (then none, then all).

    python -m scripts.bench_attacks [--posts 30000] [--seconds 40] [--rate 500] [--only none,cursors,...]
        [--profile DIR]

Each phase starts a fresh server (with the attacker's local PLC and hostile hosts, as the soak gives it),
a writer that adds one post every 0.1 s (so feeds keep rebuilding as under ingest), the attacker
(`scripts/soaklib/attacks.py --only KIND`) and the load generator (`scripts/soaklib/loadgen.py`), and
prints per phase: the normal viewers' p50/p99/max over the phase (after a 10 s warm-up), the server's
CPU seconds per wall second, its RSS at the end, and the load average. `--profile DIR` records each
phase's server with py-spy (`DIR/PHASE.txt`, raw stacks, GIL holders only) when py-spy is installed.
Figures depend on what else the machine runs: compare phases of one run, not runs on different days.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python scripts/bench_attacks.py`: import the checkout as `-m` does
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.soaklib.attacks import ATTACKS
from scripts.soaklib.procs import rss_bytes
from tests.support.seed import Post, insert_posts, make_db, many_posts

REPO = Path(__file__).resolve().parents[1]
WARMUP_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(db_path: Path, posts: int) -> None:
    db = make_db(db_path)
    insert_posts(db, many_posts(posts, authors=max(50, posts // 10), spread_seconds=6 * 3600.0))
    db.conn.close()


def writer(db_path: Path, stop: threading.Event) -> None:
    """One new post every 0.1 s: the data version moves, so the feeds rebuild as under ingest."""
    db = make_db(db_path)
    i = 0
    while not stop.wait(0.1):
        insert_posts(
            db, [Post(f"did:plc:writer{i % 97:04d}", f"3kw{os.getpid()}x{time.time_ns()}", age_seconds=1)]
        )
        i += 1
    db.conn.close()


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def phase(name: str, db_path: Path, args: argparse.Namespace, workdir: Path) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p),
        FEEDGEN_PUBLISHER_DID="did:plc:soakpublisher",
        FEEDGEN_HOSTNAME="soak.local",
        FEEDGEN_AUTH_MODE="optional",
        FEEDGEN_DID_WEB_LOCALHOST="true",
        FEEDGEN_SNAPSHOT_TTL_SECONDS=str(args.ttl),
        FEEDGEN_RETENTION_DAYS="3650",
        FEEDGEN_HALF_LIFE_HOURS="2400",
        FEEDGEN_ADMIN_TOKEN=os.urandom(16).hex(),
    )
    procs: list[subprocess.Popen] = []
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed below
    stop = threading.Event()
    piped = {"cwd": REPO, "env": env, "stdout": subprocess.PIPE, "stderr": log, "text": True}
    try:
        if name != "none":
            ready_file = workdir / f"{name}-ready.json"
            only = ",".join(ATTACKS) if name == "all" else name
            attacker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "scripts.soaklib.attacks",
                    "--base",
                    base,
                    "--ready-file",
                    str(ready_file),
                ]
                + [
                    f"--t0={time.time()}",
                    f"--duration={args.seconds + 15}",
                    f"--ttl={args.ttl}",
                    f"--only={only}",
                ]
                + [f"--body-mib={args.body_mib}"],
                **piped,
            )
            procs.append(attacker)
            while not ready_file.exists():
                if attacker.poll() is not None:
                    raise RuntimeError(f"attacks exited {attacker.returncode}")
                time.sleep(0.05)
            ready = json.loads(ready_file.read_text())
            env["FEEDGEN_PLC_URL"] = ready["plc_url"]
        server = subprocess.Popen(
            [sys.executable, "-m", "gitfeed.cli", "serve", "--db", str(db_path), "--port", str(port)]
            + ["--host", "127.0.0.1", "--no-log-requests"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(server)
        feeder = threading.Thread(target=writer, args=(db_path, stop), daemon=True)
        feeder.start()
        load = subprocess.Popen(
            [sys.executable, "-m", "scripts.soaklib.loadgen", "--base", base, "--rate", str(args.rate)]
            + ["--duration", str(args.seconds)],
            **piped,
        )
        procs.append(load)
        lines = []
        started = None
        spy = None
        assert load.stdout is not None
        for raw in load.stdout:
            with contextlib.suppress(ValueError):
                line = json.loads(raw)
                if "feeds" in line:
                    started = time.monotonic()
                    cpu0 = None
                    continue
                if started is None or "lat_ms" not in line:
                    continue
                elapsed = time.monotonic() - started
                if elapsed >= WARMUP_SECONDS:
                    if cpu0 is None:
                        cpu0, wall0 = cpu_seconds(server.pid), time.monotonic()
                        if args.profile and shutil.which("py-spy"):
                            spy = subprocess.Popen(
                                ["py-spy", "record", "-p", str(server.pid), "-r", "100", "-f", "raw"]
                                + ["--gil", "--threads", "-o", str(args.profile / f"{name}.txt")]
                                + ["-d", str(int(args.seconds - WARMUP_SECONDS - 2))],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                            )
                    lines.append(line)
        cpu = cpu_seconds(server.pid) - cpu0 if cpu0 is not None else float("nan")
        wall = time.monotonic() - wall0 if cpu0 is not None else float("nan")
        rss = (rss_bytes(server.pid) or 0) / 2**20
        if spy is not None:
            spy.wait(30)
        latencies = sorted(x for line in lines for x in line["lat_ms"])
        status: dict[str, int] = {}
        for line in lines:
            for code, n in line["status"].items():
                status[code] = status.get(code, 0) + n
        return {
            "phase": name,
            "requests": len(latencies),
            "p50_ms": round(percentile(latencies, 0.5), 2),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "max_ms": round(latencies[-1], 1) if latencies else float("nan"),
            "errors": sum(line["errors"] for line in lines),
            "non_200": sum(n for code, n in status.items() if code != "200"),
            "status": status,
            "server_cpu": round(cpu / wall, 2),
            "rss_mib": round(rss, 1),
            "load": os.getloadavg()[0],
        }
    finally:
        stop.set()
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            if proc.poll() is None:
                proc.kill()
        log.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=30_000)
    parser.add_argument("--seconds", type=float, default=40.0, help="per phase (the first 10 s are warm-up)")
    parser.add_argument(
        "--rate", type=float, default=500.0, help="normal viewers' getFeedSkeleton requests/s"
    )
    parser.add_argument(
        "--ttl", type=float, default=10.0, help="the server's snapshot TTL (replays start after)"
    )
    parser.add_argument("--body-mib", type=float, default=64.0)
    parser.add_argument("--only", default=",".join(("none", *ATTACKS, "all")))
    parser.add_argument("--profile", type=Path, help="write py-spy raw stacks (GIL holders) per phase here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, database)")
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        tmp = tempfile.mkdtemp(prefix="gitfeed-bench-attacks-")
        if not args.keep:
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
        workdir = Path(tmp)
        db_path = workdir / "gitfeed.db"
        seed(db_path, args.posts)
        print(
            f"bench_attacks: {args.posts} posts, {args.rate:g} req/s, {args.seconds:g} s a phase", flush=True
        )
        print(
            f"{'phase':<9} {'req':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'err':>4} {'!200':>5} "
            f"{'cpu/s':>6} {'rss MiB':>8} {'load':>5}",
            flush=True,
        )
        for name in args.only.split(","):
            r = phase(name, db_path, args, workdir)
            print(
                f"{r['phase']:<9} {r['requests']:>6} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.1f} "
                f"{r['max_ms']:>7.1f} {r['errors']:>4} {r['non_200']:>5} {r['server_cpu']:>6.2f} "
                f"{r['rss_mib']:>8.1f} {r['load']:>5.2f}",
                flush=True,
            )
            if r["non_200"]:
                print(f"          statuses {r['status']}; server log {workdir / (name + '.log')}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
