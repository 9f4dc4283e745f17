"""A getFeedSkeleton load generator process: every feed, pages 1..5 following cursors, at a set rate.

    python -m scripts.soaklib.loadgen --base http://127.0.0.1:3000 --rate 500 --duration 600

Open loop: a ticker issues `rate` request slots per second whatever the server does, and
`--connections` keep-alive HTTP/1.1 connections take them; a slow server shows as latency and as
slots that could not start on time (`late`), never as a politely lower rate. Raw asyncio streams
rather than an HTTP library, so the client costs little CPU on a machine it shares with the server.
Latency is measured from sending the request to the end of the response.

Prints one JSON line per `--interval` seconds to stdout: {"t", "sent", "status": {code: n},
"errors" (connection failures and timeouts), "late", "lat_ms": [...]}, then {"done": true}.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from urllib.parse import quote, urlsplit

TIMEOUT_SECONDS = 10.0  # the AppView gives up after 10 s


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects after a failure."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            body = b""
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        else:
            body = await self.reader.readexactly(length)
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Load:
    def __init__(
        self, base: str, feeds: list[str], rate: float, pages: int, limit: int, connections: int
    ) -> None:
        url = urlsplit(base)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.feeds, self.rate, self.pages, self.limit = feeds, rate, pages, limit
        self.connections = connections
        self.slots: asyncio.Queue[float] = asyncio.Queue()
        self.sent = 0
        self.late = 0
        self.status: Counter[int] = Counter()
        self.errors = 0
        self.latencies: list[float] = []

    async def ticker(self, stop: float) -> None:
        start = time.monotonic()
        issued = 0
        while (now := time.monotonic()) < stop:
            due = int((now - start) * self.rate)
            for _ in range(due - issued):
                self.slots.put_nowait(now)
            issued = max(issued, due)
            await asyncio.sleep(0.002)

    async def worker(self, stop: float, rng: random.Random) -> None:
        conn = Connection(self.host, self.port)
        page, cursor, feed = 0, None, rng.choice(self.feeds)
        while time.monotonic() < stop:
            try:
                slot = await asyncio.wait_for(self.slots.get(), timeout=max(0.01, stop - time.monotonic()))
            except TimeoutError:
                break
            if time.monotonic() - slot > 0.1:
                self.late += 1
            if page == 0:
                feed, pages = rng.choice(self.feeds), rng.randint(1, self.pages)
            path = f"/xrpc/app.bsky.feed.getFeedSkeleton?feed={quote(feed, safe='')}&limit={self.limit}"
            if cursor:
                path += "&cursor=" + quote(cursor, safe="")
            started = time.perf_counter()
            self.sent += 1
            try:
                async with asyncio.timeout(TIMEOUT_SECONDS):
                    status, body = await conn.get(path)
            except (
                OSError,
                TimeoutError,
                ConnectionError,
                asyncio.IncompleteReadError,
                ValueError,
                IndexError,
            ):
                self.errors += 1
                conn.close()
                page, cursor = 0, None
                await asyncio.sleep(0.05)
                continue
            self.latencies.append((time.perf_counter() - started) * 1000)
            self.status[status] += 1
            cursor = None
            if status == 200:
                with contextlib.suppress(ValueError):
                    cursor = json.loads(body).get("cursor")
            page += 1
            if page >= pages or not cursor:
                page, cursor = 0, None

    def report(self) -> dict:
        out = {
            "t": time.time(),
            "sent": self.sent,
            "status": {str(k): v for k, v in self.status.items()},
            "errors": self.errors,
            "late": self.late,
            "lat_ms": [round(x, 2) for x in self.latencies],
        }
        self.sent = self.late = self.errors = 0
        self.status = Counter()
        self.latencies = []
        return out


async def discover_feeds(base: str, wait: float = 120.0) -> list[str]:
    """The feed URIs from describeFeedGenerator (waits for the server to come up)."""
    url = urlsplit(base)
    deadline = time.monotonic() + wait
    while True:
        conn = Connection(url.hostname or "127.0.0.1", url.port or 80)
        try:
            status, body = await conn.get("/xrpc/app.bsky.feed.describeFeedGenerator")
            if status == 200:
                return [feed["uri"] for feed in json.loads(body)["feeds"]]
        except (OSError, ConnectionError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"no describeFeedGenerator answer from {base}")
        await asyncio.sleep(0.5)


async def main_async(args: argparse.Namespace) -> None:
    feeds = args.feed or await discover_feeds(args.base)
    load = Load(args.base, feeds, args.rate, args.pages, args.limit, args.connections)
    print(json.dumps({"feeds": feeds}), flush=True)
    stop = time.monotonic() + args.duration
    rng = random.Random(args.seed)
    tasks = [asyncio.create_task(load.ticker(stop))]
    tasks += [
        asyncio.create_task(load.worker(stop, random.Random(rng.random()))) for _ in range(args.connections)
    ]
    while time.monotonic() < stop:
        await asyncio.sleep(min(args.interval, max(0.0, stop - time.monotonic())))
        print(json.dumps(load.report()), flush=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(load.report()), flush=True)
    print(json.dumps({"done": True}), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="http://HOST:PORT of the feed generator")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--pages", type=int, default=5, help="a session reads 1..PAGES pages")
    parser.add_argument("--limit", type=int, default=30, help="posts per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--feed", action="append", help="feed at-uri (default: every feed described)")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main_async(parse_args()))
    sys.exit(0)
