"""Benchmark `gitfeed serve`: 1,000,000 stored posts, one uvicorn worker, 32 connections.

Builds the database (once; reused when it exists), starts the server pinned to one core (taskset when
available), drives it from a separate process with wrk (Debian's `wrk`) or, without wrk, an async
httpx client, and prints req/s, p50 and p99 for the first page and for a deep page (a cursor 2,500
posts down).

`--backend postgres` builds the same posts in a private PostgreSQL cluster on loopback (Debian's
binaries, as the tests start it) and measures it with 1 and 2 servers (`--servers 1,2`: one ranks and
publishes, all serve; the deep cursor is taken on the first server and loaded on every one), SQLite
beside it with one server, and prints all. `--auth off,on` measures each without service auth and with
it (FEEDGEN_AUTH_MODE=required, an ES256K token of a viewer whose key a local PLC directory serves).
With several servers, one load process per server shares the connections; req/s is their sum and
p50/p99 the worst of them.

Example: python -m scripts.bench_serve --posts 1000000 --duration 10
         python -m scripts.bench_serve --backend postgres --posts 1000000 --duration 10 --auth off,on
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
HOSTNAME = "feed.example.com"  # the service DID did:web:HOSTNAME is the tokens' audience
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


def start_server(
    db: Path | str, port: int, core: int | None, log_requests: bool, plc_url: str | None = None
) -> subprocess.Popen:
    env = dict(
        os.environ, FEEDGEN_PUBLISHER_DID=PUBLISHER, FEEDGEN_AUTH_MODE="off", FEEDGEN_HOSTNAME=HOSTNAME
    )
    if plc_url:  # service auth on: every request carries a viewer's ES256K token
        env.update(FEEDGEN_AUTH_MODE="required", FEEDGEN_PLC_URL=plc_url)
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


def run_wrk(url: str, connections: int, duration: int, core: int | None, headers: dict | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
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


def _httpx_load(
    url: str, connections: int, duration: float, queue: multiprocessing.Queue, headers: dict | None = None
) -> None:
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
        async with httpx.AsyncClient(limits=limits, timeout=10, headers=headers or {}) as client:
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


def run_httpx(url: str, connections: int, duration: int, headers: dict | None = None) -> dict:
    queue: multiprocessing.Queue = multiprocessing.Queue()
    process = multiprocessing.Process(target=_httpx_load, args=(url, connections, duration, queue, headers))
    process.start()
    result = queue.get()
    process.join()
    return result


def run_load(urls: list[str], args: argparse.Namespace, core: int | None, headers: dict | None) -> dict:
    """Load every url at once (one load process each, the connections shared out): req/s summed,
    p50/p99 the worst of them."""
    use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
    connections = max(1, args.connections // len(urls))
    if len(urls) == 1:
        if use_wrk:
            return run_wrk(urls[0], connections, args.duration, core, headers)
        return run_httpx(urls[0], connections, args.duration, headers)
    from concurrent.futures import ThreadPoolExecutor

    def one(url: str) -> dict:
        if use_wrk:
            return run_wrk(url, connections, args.duration, None, headers)
        return run_httpx(url, connections, args.duration, headers)

    with ThreadPoolExecutor(len(urls)) as pool:
        results = list(pool.map(one, urls))
    return {
        "rps": sum(r["rps"] for r in results),
        "p50_ms": max(r["p50_ms"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
        "non_2xx": sum(r["non_2xx"] for r in results),
    }


class Viewer:
    """Service auth for the benchmark: a local PLC directory serving one viewer's ES256K key, and
    tokens as the AppView sends them (minted fresh for each measurement: they live 60 s)."""

    def __init__(self) -> None:
        from tests.support.servicetokens import VIEWER, Directory, Keypair

        self.directory = Directory()
        self.key = Keypair("ES256K")
        self.directory.keys[VIEWER] = self.key

    def headers(self) -> dict[str, str]:
        from tests.support.servicetokens import make_jwt

        return {"Authorization": f"Bearer {make_jwt(self.key, aud=f'did:web:{HOSTNAME}')}"}

    def close(self) -> None:
        self.directory.close()


def measure(
    db: Path | str,
    args: argparse.Namespace,
    label: str = "",
    *,
    servers: int = 1,
    viewer: Viewer | None = None,
) -> dict[str, dict]:
    """Start `servers` servers on `db`, take a cursor 2,500 posts down on the first, and load the first
    page, the deep page and a trivial route on all; prints each line and returns the figures by page."""
    cores = os.cpu_count() or 1
    server_core = args.server_core if cores > 1 else None
    client_core = args.client_core if cores > 1 else None
    ports = [free_port() for _ in range(servers)]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    cores_of = [server_core] if servers == 1 else [None] * servers  # several: the OS spreads them
    processes = [
        start_server(db, port, core, not args.no_log_requests, viewer.directory.url if viewer else None)
        for port, core in zip(ports, cores_of, strict=True)
    ]
    results: dict[str, dict] = {}
    try:
        for base in bases:
            wait_ready(base)
        if servers > 1:
            time.sleep(3)  # the ranking server has published every feed; the others have loaded them
        feed = urllib.parse.quote(f"at://{PUBLISHER}/app.bsky.feed.generator/{args.feed}", safe="")
        path = f"/xrpc/app.bsky.feed.getFeedSkeleton?feed={feed}&limit=50"
        headers = viewer.headers() if viewer else None
        started = time.perf_counter()
        body = httpx.get(bases[0] + path, timeout=60, headers=headers).json()
        print(f"{label}cold first page (snapshot build): {(time.perf_counter() - started) * 1000:.0f} ms")
        cursor = body["cursor"]
        for _ in range(49):  # 2,500 posts down
            cursor = httpx.get(bases[0] + path + "&cursor=" + cursor, timeout=10, headers=headers).json()[
                "cursor"
            ]
        deep = path + "&cursor=" + cursor
        for base in bases[1:]:  # the cursor of the first server pages on the others (loads it once)
            response = httpx.get(base + deep, timeout=30, headers=headers)
            assert response.status_code == 200, response.text
        use_wrk = args.client == "wrk" or (args.client == "auto" and shutil.which("wrk"))
        print(
            f"{label}client: {'wrk' if use_wrk else 'httpx'}, {args.connections} connections, "
            f"{args.duration}s, {servers} server(s), server core {cores_of}, client core {client_core}"
        )
        trivial = "/xrpc/app.bsky.feed.describeFeedGenerator"  # the machine's ceiling right now
        for name, route in (("first page", path), ("deep page", deep), ("baseline", trivial)):
            headers = viewer.headers() if viewer else None
            result = run_load([base + route for base in bases], args, client_core, headers)
            results[name] = result
            print(
                f"{label}{name:>10}: {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms"
                f"  p99 {result['p99_ms']:6.2f} ms  non-2xx {result['non_2xx']}"
            )
    finally:
        for server in processes:
            server.terminate()
        for server in processes:
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
    parser.add_argument("--servers", default="1,2", help="postgres: server counts to measure")
    parser.add_argument("--auth", default="off", help="off, on, or off,on: service auth (ES256K tokens)")
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help="postgres: the same posts in a private PostgreSQL cluster, SQLite measured beside it",
    )
    args = parser.parse_args()

    ensure_sqlite(args)
    auths = [a.strip() == "on" for a in args.auth.split(",")]
    viewer = Viewer() if any(auths) else None
    try:
        if args.backend == "sqlite":
            for auth in auths:
                measure(
                    args.db, args, f"sqlite auth {'on' if auth else 'off'} ", viewer=viewer if auth else None
                )
            return
        figures = _postgres(args, auths, viewer)
    finally:
        if viewer is not None:
            viewer.close()
    print(f"\n{'':<26} {'first req/s':>11} {'p99 ms':>7}  {'deep req/s':>10} {'p99 ms':>7}  {'baseline':>8}")
    for name, results in figures.items():
        first, deep, base = results["first page"], results["deep page"], results["baseline"]
        print(
            f"{name:<26} {first['rps']:11.0f} {first['p99_ms']:7.2f}"
            f"  {deep['rps']:10.0f} {deep['p99_ms']:7.2f}  {base['rps']:8.0f}"
        )


def _postgres(args: argparse.Namespace, auths: list[bool], viewer: Viewer | None) -> dict[str, dict]:
    from tests.support.stores import Cluster

    figures: dict[str, dict] = {}
    cluster = Cluster()
    try:
        url = cluster.database()
        started = time.perf_counter()
        build_db(url, args.posts)
        print(f"built {args.posts:,} posts in PostgreSQL in {time.perf_counter() - started:.1f}s")
        for auth in auths:
            tag = f"auth {'on' if auth else 'off'}"
            who = viewer if auth else None
            figures[f"sqlite 1 server {tag}"] = measure(args.db, args, f"sqlite {tag} ", viewer=who)
            for count in (int(n) for n in args.servers.split(",")):
                name = f"postgres {count} server{'s' if count > 1 else ''} {tag}"
                figures[name] = measure(url, args, f"{name} ", servers=count, viewer=who)
    finally:
        cluster.stop()
    return figures


if __name__ == "__main__":
    main()
