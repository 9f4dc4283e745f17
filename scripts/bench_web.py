#!/usr/bin/env python3
"""Time `GET /` server-side with a million stored posts (issue 8: under 100 ms).

Builds (or reuses) a SQLite file of N posts spread over 7 days, a third of them linking one of
50,000 repositories (Zipf-like), then serves the real app with the web router in-process and
times each request inside the app (a middleware clock, so the client's own overhead is left out).
While it measures, a writer thread keeps inserting posts (as ingest would), so the background
refreshes of snapshots and trending run during the measurement.

Example: python -m scripts.bench_web --posts 1000000 --requests 300
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from feedserver.app import create_app
from firehose.settings import Settings
from firehose.store.schema import open_db

COLUMNS = (
    "uri, cid, author, rkey, text, created_at, created_ts, indexed_ts, github_urls, repos, "
    "score_github, score_ml, like_count, repost_count"
)
CID = "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
SPAN = 7 * 86400.0


def post_rows(
    start: int, count: int, rng: random.Random, created_of: Callable[[int], float], prefix: str = "3kb"
) -> list[tuple]:
    """Posts `start`..`start + count`, post i created at `created_of(i)`, rkeys PREFIX + i."""
    rows = []
    for i in range(start, start + count):
        created = created_of(i)
        linked = rng.random() < 0.35
        repo = (
            f"owner{int(rng.paretovariate(1.2)) % 5000}/repo{int(rng.paretovariate(1.1)) % 10}"
            if linked
            else ""
        )
        urls = [f"https://github.com/{repo}"] if linked else []
        github = rng.random() * 0.5 + (0.5 if linked else 0.0)
        ml = rng.random() if not linked else rng.random() * 0.3
        rows.append(
            (
                f"at://did:plc:bench{i % 40000:06d}/app.bsky.feed.post/{prefix}{i:09d}",
                CID,
                f"did:plc:bench{i % 40000:06d}",
                f"{prefix}{i:09d}",
                f"post {i} about {'https://github.com/' + repo if linked else 'transformers and training'}",
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(created)),
                created,
                created,
                json.dumps(urls),
                json.dumps([repo] if linked else []),
                github,
                ml,
                int(rng.expovariate(0.3)),
                int(rng.expovariate(1.0)),
            )
        )
    return rows


def build_db(path: Path, posts: int) -> None:
    """Fill `path` with `posts` posts (reused when it already holds that many)."""
    db = open_db(path)
    with db.conn:  # posts a previous run's writer thread added
        db.conn.execute("DELETE FROM posts WHERE rkey LIKE '3kw%'")
    have = db.conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    if have == posts:
        print(f"reusing {path} ({posts:,} posts)")
        db.conn.close()
        return
    if have:
        raise SystemExit(f"{path} holds {have:,} posts, not {posts:,}: pass another --db")
    rng = random.Random(8)
    now = time.time()
    started = time.perf_counter()
    chunk = 50_000
    for start in range(0, posts, chunk):
        rows = post_rows(start, min(chunk, posts - start), rng, lambda i: now - SPAN * (1 - (i + 1) / posts))
        with db.conn:
            db.conn.executemany(f"INSERT INTO posts ({COLUMNS}) VALUES ({','.join('?' * 14)})", rows)
    with db.conn:
        db.conn.executemany(
            "INSERT OR IGNORE INTO accounts (did, handle, active, updated_ts) VALUES (?, ?, 1, ?)",
            [(f"did:plc:bench{i:06d}", f"user{i}.bsky.social", now) for i in range(0, 40000, 3)],
        )
        db.conn.execute("INSERT INTO counters (name, value) VALUES ('events_seen', 0), ('posts_seen', 0)")
    db.conn.execute("ANALYZE")
    db.conn.close()
    print(f"built {path}: {posts:,} posts in {time.perf_counter() - started:.1f} s")


def writer(path: Path, rate: float, stop: threading.Event, first_index: int) -> None:
    """Insert `rate` posts per second in 10 batches a second, as the ingest writer would."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    rng = random.Random(9)
    index = first_index
    while not stop.wait(0.1):
        count = max(1, int(rate / 10))
        rows = post_rows(index, count, rng, lambda i: time.time(), prefix="3kw")
        index += count
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(f"INSERT INTO posts ({COLUMNS}) VALUES ({','.join('?' * 14)})", rows)
        conn.execute("UPDATE counters SET value = value + ? WHERE name = 'events_seen'", (count * 20,))
        conn.execute("COMMIT")
    conn.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--db", type=Path, default=Path("/tmp/gitfeed-bench-web.db"))
    parser.add_argument("--feed", default="github")
    parser.add_argument("--ingest-rate", type=float, default=200.0, help="posts/s inserted while measuring")
    args = parser.parse_args()

    build_db(args.db, args.posts)
    settings = Settings(
        sqlite_location=args.db,
        hostname="feed.example.com",
        publisher_did="did:plc:bench",
        auth_mode="off",
        admin_token="bench",
        _env_file=None,
    )
    app: FastAPI = create_app(settings)
    timings: dict[str, list[float]] = {}

    @app.middleware("http")
    async def clock(request: Request, call_next):  # noqa: ANN001, ANN202
        started = time.perf_counter()
        response = await call_next(request)
        timings.setdefault(request.url.path, []).append((time.perf_counter() - started) * 1000)
        return response

    stop = threading.Event()
    with TestClient(app) as client:
        started = time.perf_counter()
        assert client.get("/", params={"feed": args.feed}).status_code == 200
        cold = (time.perf_counter() - started) * 1000
        while 'data-window="24h"' not in client.get("/", params={"feed": args.feed}).text:
            time.sleep(0.2)  # the first trending count runs in the background
        trending_ready = time.perf_counter() - started
        timings.clear()
        thread = threading.Thread(target=writer, args=(args.db, args.ingest_rate, stop, args.posts + 10))
        thread.start()
        try:
            for i in range(args.requests):
                response = client.get("/", params={"feed": args.feed})
                assert response.status_code == 200
                if i % 50 == 0:
                    client.get("/admin/figures", headers={"Authorization": "Bearer bench"})
                time.sleep(0.02)
        finally:
            stop.set()
            thread.join()
        admin_started = time.perf_counter()
        assert client.get("/admin", headers={"Authorization": "Bearer bench"}).status_code == 200
        admin_ms = (time.perf_counter() - admin_started) * 1000
    values = timings["/"]
    shown = response.text.count('<article class="post')
    print(f"posts stored: {args.posts:,}; feed {args.feed}; {shown} posts and trending shown per page")
    print(f"cold first GET / (builds the feed snapshot, waits <= 1 s for trending): {cold:.0f} ms")
    print(f"trending counted in the background, shown after {trending_ready:.1f} s")
    print(
        f"GET / server-side over {len(values)} requests, ingest writing {args.ingest_rate:.0f} posts/s: "
        f"p50 {statistics.median(values):.1f} ms, p90 {percentile(values, 0.9):.1f} ms, "
        f"p99 {percentile(values, 0.99):.1f} ms, max {max(values):.1f} ms"
    )
    print(f"GET /admin (full operator page): {admin_ms:.0f} ms")


if __name__ == "__main__":
    main()
