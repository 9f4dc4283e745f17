"""Benchmark `gitfeed serve`: 1,000,000 stored posts, one uvicorn worker, 32 connections.

Builds the database (once; reused when it exists), starts the server pinned to one core (taskset when
available), drives it from a separate process with wrk (Debian's `wrk`) or, without wrk, an async
httpx client, and prints req/s, p50 and p99 for the first page and for a deep page (a cursor 2,500
posts down).

`--backend postgres` builds the same posts in a private PostgreSQL cluster on loopback (Debian's
binaries, as the tests start it) and measures a server on it, then the same on SQLite, and prints both.

Example: python -m scripts.bench_serve --posts 1000000 --duration 10
         python -m scripts.bench_serve --backend postgres --posts 1000000 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import httpx
import orjson

PUBLISHER = "did:plc:benchpublisher"
COLUMNS = (
    "uri, cid, author, rkey, text, langs, created_at, created_ts, indexed_ts, github_urls, repos,"
    " score_github, score_ml, like_count, repost_count"
)


def build_db(path: Path | str, posts: int, span_days: float = 7.0) -> None:
    """`posts` rows over `span_days`, in one transaction (about 10 s per million here); `path` may be a
    postgresql:// URL (rows go in with COPY)."""
    from firehose.store.backend import is_postgres
    from firehose.store.schema import open_db

    db = open_db(path)
    conn = db.conn
    now = time.time()
    rng = random.Random(1)
    marks = ",".join("?" * len(COLUMNS.split(",")))

    def rows():  # noqa: ANN202
        for i in range(posts):
            created = now - span_days * 86400 * (1 - i / posts)
            github = rng.random() < 0.7
            url = f"https://github.com/owner{i % 5000}/repo{i}"
            yield (
                f"at://did:plc:bench{i % 20000:06d}/app.bsky.feed.post/3kb{i:09d}",
                "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
                f"did:plc:bench{i % 20000:06d}",
                f"3kb{i:09d}",
                f"post {i} about {url if github else 'transformers and fine-tuning'}",
                '["en"]',
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                created,
                created,
                orjson.dumps([url] if github else []).decode(),
                orjson.dumps([url[19:].lower()] if github else []).decode(),
                rng.uniform(0.5, 1.0) if github else rng.uniform(0.0, 0.4),
                rng.uniform(0.5, 1.0) if not github else rng.uniform(0.0, 0.6),
                int(rng.paretovariate(1.5)) - 1,
                int(rng.paretovariate(2.5)) - 1,
            )

    if is_postgres(path):
        with conn.transaction(), conn.raw.cursor().copy(f"COPY posts ({COLUMNS}) FROM STDIN") as copy:
            for row in rows():
                copy.write_row(row)
        conn.execute("ANALYZE")
        conn.close()
        return
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO posts ({COLUMNS}) VALUES ({marks})", rows())
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db: Path | str, port: int, core: int | None, log_requests: bool) -> subprocess.Popen:
    env = dict(
        os.environ, FEEDGEN_PUBLISHER_DID=PUBLISHER, FEEDGEN_AUTH_MODE="off", FEEDGEN_HOSTNAME="bench.local"
    )
    command = [
        sys.executable,
        "-m",
        "gitfeed.cli",
        "serve",
        "--db",
        str(db),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--log-requests" if log_requests else "--no-log-requests",
    ]
    if core is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(core), *command]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(base: str, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if httpx.get(base + "/xrpc/_health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not come up")


def run_wrk(url: str, connections: int, duration: int, core: int | None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    if core is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(core), *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": rps,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def _httpx_load(url: str, connections: int, duration: float, queue: multiprocessing.Queue) -> None:
    async def worker(client: httpx.AsyncClient, stop: float, latencies: list[float], bad: list[int]) -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            response = await client.get(url)
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200:
                bad.append(response.status_code)

    async def main() -> None:
        latencies: list[float] = []
        bad: list[int] = []
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            started = time.perf_counter()
            stop = started + duration
            await asyncio.gather(*(worker(client, stop, latencies, bad) for _ in range(connections)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        queue.put(
            {
                "rps": len(latencies) / elapsed,
                "p50_ms": latencies[len(latencies) // 2] * 1000,
                "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
                "non_2xx": len(bad),
            }
        )

    asyncio.run(main())


def run_httpx(url: str, connections: int, duration: int) -> dict:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_httpx_load, args=(url, connections, duration, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def measure(db: Path | str, args: argparse.Namespace, label: str = "") -> dict[str, dict]:
    """Start a server on `db`, take a cursor 2,500 posts down, and load the first page, the deep page
    and a trivial route; prints each line and returns the figures by page."""
    cores = os.cpu_count() or 1
    server_core = args.server_core if cores > 1 else None
    client_core = args.client_core if cores > 1 else None
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(db, port, server_core, not args.no_log_requests)
    results: dict[str, dict] = {}
    try:
        wait_ready(base)
        feed = urllib.parse.quote(f"at://{PUBLISHER}/app.bsky.feed.generator/{args.feed}", safe="")
        first = f"{base}/xrpc/app.bsky.feed.getFeedSkeleton?feed={feed}&limit=50"
        started = time.perf_counter()
        body = httpx.get(first, timeout=60).json()
        print(f"{label}cold first page (snapshot build): {(time.perf_counter() - started) * 1000:.0f} ms")
        cursor = body["cursor"]
        for _ in range(49):  # 2,500 posts down
            cursor = httpx.get(first + "&cursor=" + cursor, timeout=10).json()["cursor"]
        deep = first + "&cursor=" + cursor
        use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
        print(
            f"{label}client: {'wrk' if use_wrk else 'httpx'}, {args.connections} connections, "
            f"{args.duration}s, server core {server_core}, client core {client_core}"
        )
        trivial = f"{base}/xrpc/app.bsky.feed.describeFeedGenerator"  # the machine's ceiling right now
        for name, url in (("first page", first), ("deep page", deep), ("baseline", trivial)):
            result = (
                run_wrk(url, args.connections, args.duration, client_core)
                if use_wrk
                else run_httpx(url, args.connections, args.duration)
            )
            results[name] = result
            print(
                f"{label}{name:>10}: {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms"
                f"  p99 {result['p99_ms']:6.2f} ms  non-2xx {result['non_2xx']}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
    return results


def ensure_sqlite(args: argparse.Namespace) -> None:
    if args.rebuild or not args.db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(args.db) + suffix).unlink(missing_ok=True)
        started = time.perf_counter()
        build_db(args.db, args.posts)
        print(f"built {args.posts:,} posts in {time.perf_counter() - started:.1f}s -> {args.db}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gitfeed-bench.db"))
    parser.add_argument("--rebuild", action="store_true", help="Rebuild the database even if it exists.")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--feed", default="github")
    parser.add_argument("--no-log-requests", action="store_true")
    parser.add_argument("--client", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: the same posts in a private PostgreSQL cluster, SQLite measured beside it",
    )
    args = parser.parse_args()

    ensure_sqlite(args)
    if args.backend == "sqlite":
        measure(args.db, args)
        return
    from tests.support.stores import Cluster

    cluster = Cluster()
    try:
        url = cluster.database()
        started = time.perf_counter()
        build_db(url, args.posts)
        print(f"built {args.posts:,} posts in PostgreSQL in {time.perf_counter() - started:.1f}s")
        figures = {"sqlite": measure(args.db, args, "  sqlite "), "postgres": measure(url, args, "postgres ")}
    finally:
        cluster.stop()
    print(f"{'':>10}  {'sqlite req/s':>12} {'p99 ms':>8}  {'postgres req/s':>14} {'p99 ms':>8}")
    for name in figures["sqlite"]:
        lite, pg = figures["sqlite"][name], figures["postgres"][name]
        print(f"{name:>10}  {lite['rps']:12.0f} {lite['p99_ms']:8.2f}  {pg['rps']:14.0f} {pg['p99_ms']:8.2f}")


if __name__ == "__main__":
    main()
