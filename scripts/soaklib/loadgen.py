"""A getFeedSkeleton load generator process: every feed, pages 1..5 following cursors, at a set rate.

    python -m scripts.soaklib.loadgen --base http://127.0.0.1:3000 --rate 500 --duration 600

Open loop: a ticker issues `rate` request slots per second whatever the server does, and
`--connections` keep-alive HTTP/1.1 connections take them; a slow server shows as latency and as
slots that could not start on time (`late`), never as a politely lower rate. Raw asyncio streams
rather than an HTTP library, so the client costs little CPU on a machine it shares with the server.
Latency is measured from sending the request to the end of the response.

Prints one JSON line per `--interval` seconds to stdout: {"t", "sent", "status": {code: n},
"errors" (connection failures and timeouts), "late", "lat_ms": [...], "by_server": {i: {code: n}},
"fails": [[wall time, server, kind], ...]}, then {"done": true}.

Several servers (`--base` given more than once, as behind a load balancer): each new page chain goes
to the next server in turn, and each cursor is followed on the next server after the one that made it
(round robin), so every chain of two pages or more crosses servers. A server that refused or dropped a
connection is passed over for `EJECT_SECONDS` (a proxy's passive health check); the failure is still
counted, with its time and server, for the harness to place against its faults.

`--check-chains` checks every chain the load follows (a line {"chains": {...}} before "done"):
- no post twice in one chain (in the load generator itself, for every chain);
- no skip: with `--store URL` the cursors are decoded with the store's cursor keys, and a chain whose
  cursors all name one published snapshot must be exactly that snapshot's first posts in order (its
  pages consecutive slices of it, whichever servers served them). A chain whose snapshot changed on the
  way (a frame fallback: the snapshot was gone on the server asked) is checked for repeats only, and one
  whose snapshot was already pruned when checked is counted as unverified.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import queue
import random
import sys
import threading
import time
from collections import Counter, OrderedDict
from urllib.parse import quote, urlsplit

TIMEOUT_SECONDS = 10.0  # the AppView gives up after 10 s
EJECT_SECONDS = 1.0  # a server that failed a connection is passed over this long
IDLE_SECONDS = 4.0  # a keep-alive connection idle this long is closed before reuse (uvicorn closes at 5 s)
MAX_FAILS_LOGGED = 1000  # failures listed per report line (the rest are only counted)


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects after a failure, and before reusing one that sat
    idle IDLE_SECONDS (the server may have closed it: as a proxy's upstream idle timeout, shorter than
    the server's keep-alive). With several servers a worker's connection to one of them idles while its
    requests to the others are slow."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used = 0.0

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is not None and time.monotonic() - self.used > IDLE_SECONDS:
            self.close()
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
        self.used = time.monotonic()
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Load:
    def __init__(
        self,
        bases: list[str],
        feeds: list[str],
        rate: float,
        pages: int,
        limit: int,
        connections: int,
        chains: ChainCheck | None = None,
    ) -> None:
        urls = [urlsplit(base) for base in bases]
        self.servers = [(url.hostname or "127.0.0.1", url.port or 80) for url in urls]
        self.feeds, self.rate, self.pages, self.limit = feeds, rate, pages, limit
        self.connections = connections
        self.chains = chains
        self.slots: asyncio.Queue[float] = asyncio.Queue()
        self.sent = 0
        self.late = 0
        self.status: Counter[int] = Counter()
        self.by_server: dict[int, Counter[int]] = {}
        self.errors = 0
        self.fails: list[list] = []
        self.latencies: list[float] = []
        self.turn = 0
        self.ejected = [0.0] * len(self.servers)

    async def ticker(self, stop: float) -> None:
        start = time.monotonic()
        issued = 0
        while (now := time.monotonic()) < stop:
            due = int((now - start) * self.rate)
            for _ in range(due - issued):
                self.slots.put_nowait(now)
            issued = max(issued, due)
            await asyncio.sleep(0.002)

    def next_server(self, after: int | None) -> int:
        """The server for the next request: after `after` (a cursor's maker) or the next in turn for a
        new chain, passing over those ejected for a recent failure (unless all are)."""
        count = len(self.servers)
        if count == 1:
            return 0
        if after is None:
            after, self.turn = self.turn, self.turn + 1
        now = time.monotonic()
        for step in range(1, count + 1):
            candidate = (after + step) % count
            if self.ejected[candidate] <= now:
                return candidate
        return (after + 1) % count

    async def worker(self, stop: float, rng: random.Random) -> None:
        conns = [Connection(host, port) for host, port in self.servers]
        page, cursor, feed = 0, None, rng.choice(self.feeds)
        server: int | None = None
        chain: list[tuple[int, str | None, list[str], str | None]] = []
        while time.monotonic() < stop:
            try:
                slot = await asyncio.wait_for(self.slots.get(), timeout=max(0.01, stop - time.monotonic()))
            except TimeoutError:
                break
            if time.monotonic() - slot > 0.1:
                self.late += 1
            if page == 0:
                feed, pages = rng.choice(self.feeds), rng.randint(1, self.pages)
                server = None
            server = self.next_server(server)
            conn = conns[server]
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
            ) as error:
                self.errors += 1
                if len(self.fails) < MAX_FAILS_LOGGED:
                    self.fails.append([round(time.time(), 3), server, type(error).__name__])
                self.ejected[server] = time.monotonic() + EJECT_SECONDS
                conn.close()
                self.end_chain(feed, chain)
                page, cursor, chain = 0, None, []
                await asyncio.sleep(0.05)
                continue
            self.latencies.append((time.perf_counter() - started) * 1000)
            self.status[status] += 1
            self.by_server.setdefault(server, Counter())[status] += 1
            sent_cursor, cursor = cursor, None
            if status == 200:
                with contextlib.suppress(ValueError):
                    answer = json.loads(body)
                    cursor = answer.get("cursor")
                    if self.chains is not None:
                        chain.append((server, sent_cursor, [i["post"] for i in answer["feed"]], cursor))
            page += 1
            if page >= pages or not cursor:
                self.end_chain(feed, chain)
                page, cursor, chain = 0, None, []

    def end_chain(self, feed: str, chain: list) -> None:
        if self.chains is not None and chain:
            self.chains.add(feed, chain)

    def report(self) -> dict:
        out = {
            "t": time.time(),
            "sent": self.sent,
            "status": {str(k): v for k, v in self.status.items()},
            "errors": self.errors,
            "late": self.late,
            "lat_ms": [round(x, 2) for x in self.latencies],
            "by_server": {str(i): {str(k): v for k, v in c.items()} for i, c in self.by_server.items()},
            "fails": self.fails,
        }
        self.sent = self.late = self.errors = 0
        self.status = Counter()
        self.by_server = {}
        self.fails = []
        self.latencies = []
        return out


class ChainCheck:
    """Checks the page chains the load followed: repeats at once; skips (with a store URL) in a thread
    of its own, against the published snapshot the chain's cursors name (see the module docstring)."""

    MAX_PENDING = 5000
    MAX_EXAMPLES = 5

    def __init__(self, store: str | None) -> None:
        self.store = store
        self.counts: Counter[str] = Counter()
        self.examples: list[dict] = []
        self.pending: queue.Queue = queue.Queue()
        self.snapshots: OrderedDict[str, list[str] | None] = OrderedDict()
        self.codec = None
        self.conn = None
        self.thread: threading.Thread | None = None
        if store:
            self.thread = threading.Thread(target=self.run, name="chain-check", daemon=True)
            self.thread.start()

    def add(self, feed: str, chain: list) -> None:
        served = [uri for _, _, page, _ in chain for uri in page]
        self.counts["chains"] += 1
        self.counts["pages"] += len(chain)
        if len(chain) > 1:
            self.counts["multi_page"] += 1
            if len({s for s, _, _, _ in chain}) > 1:
                self.counts["cross_server"] += 1
        if len(served) != len(set(served)):
            self.counts["repeats"] += 1
            self.example("repeat", feed, chain, served)
        if self.store is None:
            return
        if self.pending.qsize() >= self.MAX_PENDING:
            self.counts["unverified_backlog"] += 1
            return
        self.pending.put((feed, chain, served))

    def example(self, kind: str, feed: str, chain: list, served: list[str], **more: object) -> None:
        if len(self.examples) < self.MAX_EXAMPLES:
            servers = [s for s, _, _, _ in chain]
            self.examples.append(
                {"kind": kind, "feed": feed, "servers": servers, "posts": len(served), **more}
            )

    def run(self) -> None:
        while True:
            item = self.pending.get()
            if item is None:
                return
            for attempt in range(121):
                try:
                    self.verify(*item)
                    break
                except Exception as error:  # the store away (a PostgreSQL restart): try again, 2 min
                    self.counts["check_retries"] += 1
                    if self.counts["check_retries"] % 50 == 1:
                        print(f"chain check: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                    if attempt == 120:
                        self.counts["check_failed"] += 1
                        break
                    time.sleep(1.0)

    def _connect(self) -> None:
        from feedserver.cursors import CursorCodec, load_keys
        from firehose.store.schema import open_db

        if self.conn is None:
            self.conn = open_db(self.store, migrate=False).conn
        self.codec = CursorCodec(load_keys(self.conn, "")[0])

    def _uris(self, snapshot_id: str) -> list[str] | None:
        from feedserver import cluster

        if snapshot_id not in self.snapshots:
            snapshot = cluster.load(self.conn, snapshot_id)
            self.snapshots[snapshot_id] = None if snapshot is None else snapshot.uris
            while len(self.snapshots) > 64:
                self.snapshots.popitem(last=False)
        return self.snapshots[snapshot_id]

    def verify(self, feed: str, chain: list, served: list[str]) -> None:
        if self.conn is None or self.codec is None:
            self._connect()
        name = feed.rsplit("/", 1)[1]
        cursors = [c for _, sent, _, made in chain for c in (sent, made) if c]
        sids = {self.codec.decode(c, feed=name, viewer=None).snapshot_id for c in cursors}
        if not sids:
            self.counts["no_cursor"] += 1  # one page, the whole feed: nothing to tie it to
            return
        if len(sids) > 1:
            self.counts["snapshot_changed"] += 1  # a frame fallback on the way: repeats checked only
            return
        uris = self._uris(sids.pop())
        if uris is None:
            self.counts["unverified_pruned"] += 1
            return
        if served == uris[: len(served)]:
            self.counts["verified"] += 1
            if len(chain) > 1:
                self.counts["verified_multi_page"] += 1
            return
        self.counts["skips"] += 1
        first = next((i for i, (a, b) in enumerate(zip(served, uris, strict=False)) if a != b), len(uris))
        self.example("skip", feed, chain, served, first_difference=first, snapshot_posts=len(uris))

    def report(self, timeout: float = 30.0) -> dict:
        """Wait (up to `timeout`) for the checks still queued, then the counts and a few examples."""
        deadline = time.monotonic() + timeout
        while self.thread is not None and not self.pending.empty() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.counts["unverified_backlog"] += self.pending.qsize()
        return {"chains": dict(self.counts), "examples": self.examples}


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
    feeds = args.feed or await discover_feeds(args.base[0])
    chains = ChainCheck(args.store) if args.check_chains else None
    load = Load(args.base, feeds, args.rate, args.pages, args.limit, args.connections, chains)
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
    if chains is not None:
        print(json.dumps(await asyncio.to_thread(chains.report)), flush=True)
    print(json.dumps({"done": True}), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--base",
        required=True,
        action="append",
        help="http://HOST:PORT of the feed generator (repeat for several servers: round robin)",
    )
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=600.0)
    parser.add_argument("--pages", type=int, default=5, help="a session reads 1..PAGES pages")
    parser.add_argument("--limit", type=int, default=30, help="posts per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--feed", action="append", help="feed at-uri (default: every feed described)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check-chains", action="store_true", help="check page chains (docstring)")
    parser.add_argument("--store", help="postgresql:// URL: check chains against the published snapshots")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main_async(parse_args()))
    sys.exit(0)
