"""An attacker beside the normal load: a process that hits `gitfeed serve` on 127.0.0.1 the way issue 13
found it could be hurt, each attack bounded in count, rate and time.

    python -m scripts.soaklib.attacks --base http://127.0.0.1:3000 --ready-file ready.json \
        --t0 EPOCH --duration 600 [--scale 1.0] [--body-mib 64] [--ttl 120]

It first starts what the server must be pointed at (and writes their addresses to `--ready-file`):
a local PLC directory (tests/support/servicetokens.py) that knows one viewer's key, and hostile did:web
hosts, one port per DID (`did:web:localhost%3APORT`, which the server fetches only with
FEEDGEN_DID_WEB_LOCALHOST=true): huge documents (announced and not) and trickling responses (body or
headers, a byte every half second). Then, once the server answers, on the soak's clock (`--t0`):

- cursors: capture cursors (first and second pages, 2/s) from the start, and replay (20/s) only
  cursors older than the snapshot TTL (`--ttl`, which the harness gives the server) plus 10 s scaled,
  whose snapshots are gone: each costs the server a fallback rebuild (shared per frame, rate-limited)
  or a 400 "cursor has expired";
- tokens: service JWTs with random, syntactically valid did:plc issuers and forged signatures (a random
  key, garbage bytes, the known viewer's DID signed by another key), and steering issuers (did:web with
  paths, queries, IP literals; did:plc with `../`), all of which point at loopback only;
- hostile: tokens whose issuers are the hostile did:web hosts;
- bodies: oversized bodies to /admin/login (form, with and without a length) and sendInteractions
  (with the viewer's valid token, and anonymous), streamed so the attacker holds 1 MiB at a time;
- flood: sendInteractions of 100 requestLess each from the one viewer (valid token), and the same
  viewer reading its feed.

Rates (per second, times `--scale`): tokens 20, hostile 2, flood 10 (100 requestLess each), flood
reads 2; a body every 30 s scaled (at most 24); each attack at most MAX_IN_FLIGHT requests at once
(slots past that are skipped and counted) and a fixed total. Every request goes to 127.0.0.1 (the
base must be 127.0.0.1; the hosts listen on 127.0.0.1 only).
Prints one JSON line when ready ({"ready": ...}) and one at the end ({"done": true, "attacks": ...,
"hosts": ..., "plc": ..., "metrics": ...}): per attack the requests sent, statuses, connection
failures and latency; per host the connections, bytes sent, the longest the server held one, and
requests that a steering issuer would have caused (anything but `GET /.well-known/did.json` at a host,
anything but `/did:plc:<24>` at the directory).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import functools
import json
import math
import os
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from tests.support.servicetokens import Directory, Keypair, make_jwt

ATTACKS = ("cursors", "tokens", "hostile", "bodies", "flood")  # what --only names
MAX_IN_FLIGHT = 24  # per attack: past it a slot is skipped (counted), so a slow server bounds the attack

GET_FEED_SKELETON = "app.bsky.feed.getFeedSkeleton"
SEND_INTERACTIONS = "app.bsky.feed.sendInteractions"
REQUEST_LESS = "app.bsky.feed.defs#requestLess"
VIEWER = "did:plc:floodviewerfloodviewerff"  # did:plc: and 24 base32 characters
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
BEHAVIOURS = ("huge", "huge-unsized", "trickle-body", "trickle-headers")
HOSTS_PER_BEHAVIOUR = 4
HUGE_BYTES = 300 * 2**20  # what a huge document offers (the server should stop at its cap)
TRICKLE_SECONDS = 120.0  # how long a trickling host would keep going
TRICKLE_EVERY = 0.5
MAX_CONNECTIONS_PER_HOST = 2000
CLIENT_TIMEOUT = 30.0
PLC_PATH = re.compile(r"did:plc:[a-z2-7]{24}\Z")


@dataclass
class Stats:
    """What one attack sent and got back."""

    sent: int = 0
    status: Counter = field(default_factory=Counter)
    errors: int = 0
    lat_ms: list[float] = field(default_factory=list)
    failures: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)  # "401 BadJwtIss: could not resolve..." -> n

    def record(self, status: int | None, started: float, failure: str = "") -> None:
        self.sent += 1
        if status is None:
            self.errors += 1
            self.failures[failure] += 1
        else:
            self.status[str(status)] += 1
            self.lat_ms.append((time.perf_counter() - started) * 1000)

    def summary(self) -> dict:
        ordered = sorted(self.lat_ms)

        def pct(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else math.nan

        return {
            "sent": self.sent,
            "status": dict(self.status),
            "errors": self.errors,
            "failures": dict(self.failures),
            "refusals": dict(self.refusals.most_common(4)),
            "5xx": sum(n for code, n in self.status.items() if code.startswith("5")),
            "p50_ms": pct(0.5),
            "p99_ms": pct(0.99),
            "max_ms": round(ordered[-1], 1) if ordered else math.nan,
        }


@dataclass
class HostStats:
    behaviour: str
    connections: int = 0
    bytes_sent: int = 0
    max_hold_s: float = 0.0
    steered: list[str] = field(default_factory=list)


class LocalPLC:
    """A PLC directory on 127.0.0.1 in this process's event loop (no threads to fight the loop for the
    GIL): GET /<did> answers the document of a DID whose key it knows, 404 otherwise."""

    def __init__(self) -> None:
        self.keys: dict[str, Keypair] = {}
        self.requests: list[str] = []
        self.port = 0

    async def start(self) -> LocalPLC:
        server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                async with asyncio.timeout(30):
                    head = await reader.readuntil(b"\r\n\r\n")
                parts = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
                did = parts[1].lstrip("/") if len(parts) == 3 else ""
                if len(self.requests) < 100_000:
                    self.requests.append(did[:200])
                key = self.keys.get(did)
                if key is None:
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                else:
                    body = json.dumps(Directory.document(did, key)).encode()
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                        + f"content-length: {len(body)}\r\n\r\n".encode()
                        + body
                    )
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            writer.close()


class HostileHost:
    """One did:web host on 127.0.0.1 that answers every document request with `behaviour`."""

    def __init__(self, behaviour: str) -> None:
        self.stats = HostStats(behaviour)
        self.server: asyncio.AbstractServer | None = None
        self.port = 0

    async def start(self) -> HostileHost:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    @property
    def did(self) -> str:
        return f"did:web:localhost%3A{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        started = time.monotonic()
        self.stats.connections += 1
        try:
            if self.stats.connections > MAX_CONNECTIONS_PER_HOST:
                return
            async with asyncio.timeout(5):
                head = await reader.readuntil(b"\r\n\r\n")
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            if line != "GET /.well-known/did.json HTTP/1.1":
                self.stats.steered.append(line[:200])
            await getattr(self, "_" + self.stats.behaviour.replace("-", "_"))(writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass
        finally:
            self.stats.max_hold_s = max(self.stats.max_hold_s, time.monotonic() - started)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.stats.bytes_sent += len(data)

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        await self._send(writer, b'{"id":"' + self.did.encode() + b'","pad":"')
        chunk = b"x" * 2**20
        for _ in range(HUGE_BYTES // len(chunk)):
            await self._send(writer, chunk)

    async def _huge(self, writer: asyncio.StreamWriter) -> None:
        await self._send(
            writer,
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {HUGE_BYTES + 64}\r\n\r\n".encode(),
        )
        await self._stream(writer)

    async def _huge_unsized(self, writer: asyncio.StreamWriter) -> None:
        await self._send(
            writer, b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
        )
        await self._stream(writer)

    async def _trickle_body(self, writer: asyncio.StreamWriter) -> None:
        await self._send(
            writer, b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n"
        )
        await self._trickle(writer, b"{" + b" " * 4095)

    async def _trickle_headers(self, writer: asyncio.StreamWriter) -> None:
        await self._trickle(writer, b"HTTP/1.1 200 OK\r\nx-slow: " + b"a" * 4096)

    async def _trickle(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        deadline = time.monotonic() + TRICKLE_SECONDS
        for i in range(len(data)):
            if time.monotonic() > deadline:
                return
            await self._send(writer, data[i : i + 1])
            await asyncio.sleep(TRICKLE_EVERY)


def random_plc(rng: random.Random) -> str:
    return "did:plc:" + "".join(rng.choice(BASE32) for _ in range(24))


@functools.cache
def _unpublished_key() -> Keypair:
    """One key nobody published, made once: a fresh key per token cost the attacker a key generation
    each time, CPU the soak then took away from the server it measures; to the server it is the same."""
    return Keypair("ES256K")


def forged(issuer: str, aud: str, lxm: str) -> str:
    """A well-formed token for `issuer` signed by a key nobody published."""
    return make_jwt(_unpublished_key(), iss=issuer, aud=aud, lxm=lxm)


def garbage_signature(token: str, rng: random.Random) -> str:
    import base64

    head, body, _ = token.split(".")
    sig = base64.urlsafe_b64encode(rng.randbytes(64)).rstrip(b"=").decode()
    return f"{head}.{body}.{sig}"


def steering_issuers(rng: random.Random, port: int) -> list[str]:
    """Issuers that would make a naive resolver fetch somewhere else; each points at loopback only."""
    plc = random_plc(rng)
    return [
        f"did:web:localhost%3A{port}/steer?q=1",
        f"did:web:localhost%3A{port}%2Fsteer",
        f"did:web:localhost:{port}:steer",
        f"did:web:127.0.0.1%3A{port}",
        f"did:web:127.0.0.1%3A{port}/steer",
        f"did:web:localhost%3A{port}?x=/../export",
        f"{plc}/../../export?count=1000",
        f"{plc}?x=1",
        f"did:plc:{plc[8:]}x",
        f"did:web:[::1]%3A{port}",
    ]


class Attacker:
    def __init__(self, args: argparse.Namespace, directory: LocalPLC, hosts: list[HostileHost]) -> None:
        url = urlsplit(args.base)
        if url.hostname != "127.0.0.1":
            raise SystemExit("attacks go to 127.0.0.1 only")
        self.args = args
        self.base = args.base.rstrip("/")
        self.directory, self.hosts = directory, hosts
        self.viewer_key = Keypair("ES256K")
        directory.keys[VIEWER] = self.viewer_key
        self.aud = args.aud
        self.rng = random.Random(args.seed)
        self.stats = {
            name: Stats()
            for name in (
                "cursor-capture",
                "cursor-replay",
                "tokens",
                "hostile",
                "bodies",
                "flood",
                "flood-reads",
            )
        }
        self.token_kinds: Counter[str] = Counter()
        self.cursors: list[tuple[float, str, str]] = []  # (captured at, feed, cursor)
        self.feeds: list[str] = []
        self.posts: list[str] = []
        self.metrics: dict[str, float] = {}
        self.skipped: Counter[str] = Counter()
        self.clients: dict[int, httpx.AsyncClient] = {}

    def clock(self) -> float:
        return time.time() - self.args.t0

    def at(self, seconds: float) -> float:
        """Soak seconds scaled with the duration, as the harness scales its faults."""
        return max(5.0, seconds * self.args.duration / 600.0)

    async def run(self) -> None:
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=8)
        self.limits = limits
        async with httpx.AsyncClient(timeout=CLIENT_TIMEOUT, limits=limits) as self.http:
            await self.wait_up()
            up = self.clock()
            end = self.args.duration - 1.0
            s, scale = self.at, self.args.scale
            self.replay_age = self.args.ttl + s(10)  # a cursor's snapshot is gone by then
            attacks = {
                "cursors": lambda: asyncio.gather(
                    self.capture(up, end, rate=2 * scale),
                    self.replay(up + self.replay_age, end, rate=20 * scale, cap=10_000),
                ),
                "tokens": lambda: self.tokens(up + s(15), end, rate=20 * scale, cap=15_000),
                "hostile": lambda: self.hostile(up + s(15), end, rate=2 * scale, cap=2_000),
                "bodies": lambda: self.bodies(up + s(20), end, every=s(30), cap=24),
                "flood": lambda: asyncio.gather(
                    self.flood(up + s(10), end, rate=10 * scale, cap=8_000),
                    self.flood_reads(up + s(10), end, rate=2 * scale, cap=2_000),
                ),
            }
            await asyncio.gather(*(run() for name, run in attacks.items() if name in self.args.only))
            await self.scrape_metrics()
            for client in self.clients.values():
                await client.aclose()

    async def wait_up(self) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
                response = await self.http.get(self.base + "/xrpc/app.bsky.feed.describeFeedGenerator")
                if response.status_code == 200:
                    self.feeds = [feed["uri"] for feed in response.json()["feeds"]]
                    return
            await asyncio.sleep(0.5)
        raise SystemExit("the server did not come up")

    async def paced(self, start: float, end: float, rate: float, cap: int, one, name: str = "") -> None:  # noqa: ANN001
        """Call `one(i)` at `rate` per second from soak second `start` to `end`, at most `cap` times and
        at most MAX_IN_FLIGHT at once (a slot past that is skipped and counted)."""
        if rate <= 0:
            return
        await asyncio.sleep(max(0.0, start - self.clock()))
        tasks: set[asyncio.Task] = set()
        i = slot = 0
        began = self.clock()
        while i < cap and (now := self.clock()) < end:
            due = int((now - began) * rate) + 1
            while slot < due and i < cap:
                slot += 1
                if len(tasks) >= MAX_IN_FLIGHT:
                    self.skipped[name] += 1
                    continue
                task = asyncio.create_task(one(i))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                task.add_done_callback(self._crashed)
                i += 1
            await asyncio.sleep(min(0.05, 1.0 / rate))
        if tasks:
            await asyncio.wait(tasks, timeout=CLIENT_TIMEOUT + 5)

    def _crashed(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            error = task.exception()
            self.skipped[f"attacker error {type(error).__name__}: {str(error)[:80]}"] += 1

    def client(self, stats: Stats) -> httpx.AsyncClient:
        """One connection pool per attack, so one attack's slow answers cannot hold up another's."""
        client = self.clients.get(id(stats))
        if client is None:
            client = self.clients[id(stats)] = httpx.AsyncClient(timeout=CLIENT_TIMEOUT, limits=self.limits)
        return client

    async def request(self, stats: Stats, method: str, path: str, **kwargs) -> httpx.Response | None:  # noqa: ANN003
        started = time.perf_counter()
        try:
            async with asyncio.timeout(CLIENT_TIMEOUT):
                response = await self.client(stats).request(method, self.base + path, **kwargs)
        except (httpx.HTTPError, OSError, TimeoutError) as error:
            stats.record(None, started, type(error).__name__)
            return None
        stats.record(response.status_code, started)
        if response.status_code >= 400:
            with contextlib.suppress(ValueError, AttributeError):
                body = response.json()
                message = re.sub(r"did:[a-z]+:\S+", "DID", str(body.get("message", "")))[:60]
                stats.refusals[f"{response.status_code} {body.get('error')}: {message}"] += 1
        return response

    def skeleton_path(self, feed: str, cursor: str | None = None, limit: int = 30) -> str:
        from urllib.parse import quote

        path = f"/xrpc/{GET_FEED_SKELETON}?feed={quote(feed, safe='')}&limit={limit}"
        return path + ("&cursor=" + quote(cursor, safe="") if cursor else "")

    async def capture(self, start: float, end: float, rate: float) -> None:
        stats = self.stats["cursor-capture"]

        async def one(_: int) -> None:
            feed = self.rng.choice(self.feeds)
            response = await self.request(stats, "GET", self.skeleton_path(feed, limit=5))
            cursor = _cursor(response)
            if cursor:
                self.cursors.append((self.clock(), feed, cursor))
                self.remember_posts(response)
                if self.rng.random() < 0.5:
                    deeper = _cursor(await self.request(stats, "GET", self.skeleton_path(feed, cursor, 5)))
                    if deeper:
                        self.cursors.append((self.clock(), feed, deeper))

        await self.paced(start, end, rate, 2_000, one, "cursor-capture")

    async def replay(self, start: float, end: float, rate: float, cap: int) -> None:
        stats = self.stats["cursor-replay"]

        async def one(_: int) -> None:
            old = bisect.bisect_right(self.cursors, self.clock() - self.replay_age, key=lambda c: c[0])
            if old:
                _, feed, cursor = self.cursors[self.rng.randrange(old)]
                await self.request(stats, "GET", self.skeleton_path(feed, cursor))
            else:
                self.skipped["cursor-replay (none old enough yet)"] += 1

        await self.paced(start, end, rate, cap, one, "cursor-replay")

    async def tokens(self, start: float, end: float, rate: float, cap: int) -> None:
        stats = self.stats["tokens"]
        port = self.hosts[0].port

        async def one(i: int) -> None:
            kind = ("random-plc", "garbage-signature", "viewer-forged", "steering")[i % 4]
            if kind == "random-plc":
                token = forged(random_plc(self.rng), self.aud, GET_FEED_SKELETON)
            elif kind == "garbage-signature":
                token = garbage_signature(forged(random_plc(self.rng), self.aud, GET_FEED_SKELETON), self.rng)
            elif kind == "viewer-forged":
                token = forged(VIEWER, self.aud, GET_FEED_SKELETON)
            else:
                token = forged(self.rng.choice(steering_issuers(self.rng, port)), self.aud, GET_FEED_SKELETON)
            self.token_kinds[kind] += 1
            feed = self.rng.choice(self.feeds)
            await self.request(
                stats, "GET", self.skeleton_path(feed), headers={"authorization": f"Bearer {token}"}
            )

        await self.paced(start, end, rate, cap, one, "tokens")

    async def hostile(self, start: float, end: float, rate: float, cap: int) -> None:
        stats = self.stats["hostile"]

        async def one(i: int) -> None:
            host = self.hosts[i % len(self.hosts)]
            lxm = GET_FEED_SKELETON if i % 2 == 0 else SEND_INTERACTIONS
            headers = {"authorization": f"Bearer {forged(host.did, self.aud, lxm)}"}
            if lxm == GET_FEED_SKELETON:
                await self.request(
                    stats, "GET", self.skeleton_path(self.rng.choice(self.feeds)), headers=headers
                )
            else:
                body = {"interactions": [{"item": self.post(), "event": REQUEST_LESS}]}
                await self.request(stats, "POST", f"/xrpc/{SEND_INTERACTIONS}", headers=headers, json=body)

        await self.paced(start, end, rate, cap, one, "hostile")

    async def bodies(self, start: float, end: float, every: float, cap: int) -> None:
        stats = self.stats["bodies"]
        size = int(self.args.body_mib * 2**20)

        async def stream(prefix: bytes):  # noqa: ANN202 - an async generator of the body
            yield prefix
            chunk = b"a" * 2**20
            left = size - len(prefix)
            while left > 0:
                yield chunk[: min(left, len(chunk))]
                left -= len(chunk)

        async def one(i: int) -> None:
            kind = i % 4
            headers: dict[str, str] = {}
            if kind in (0, 1):  # /admin/login: a form, with a length (0) and chunked (1)
                path, prefix = "/admin/login", b"token="
                headers["content-type"] = "application/x-www-form-urlencoded"
            else:  # sendInteractions: the viewer's valid token (2), anonymous (3)
                path, prefix = f"/xrpc/{SEND_INTERACTIONS}", b'{"interactions":[],"pad":"'
                headers["content-type"] = "application/json"
                if kind == 2:
                    headers["authorization"] = f"Bearer {self.viewer_token(SEND_INTERACTIONS)}"
            if kind != 1:
                headers["content-length"] = str(size)
            await self.request(stats, "POST", path, headers=headers, content=stream(prefix))

        await self.paced(start, end, 1.0 / every, cap, one, "bodies")

    def viewer_token(self, lxm: str) -> str:
        return make_jwt(self.viewer_key, iss=VIEWER, aud=self.aud, lxm=lxm)

    def remember_posts(self, response: httpx.Response | None) -> None:
        if response is None or response.status_code != 200:
            return
        with contextlib.suppress(ValueError, KeyError, TypeError):
            for item in response.json()["feed"]:
                if len(self.posts) < 2_000:
                    self.posts.append(item["post"])

    def post(self) -> str:
        return self.rng.choice(self.posts) if self.posts else f"at://{VIEWER}/app.bsky.feed.post/3soak"

    async def flood(self, start: float, end: float, rate: float, cap: int) -> None:
        stats = self.stats["flood"]

        async def one(_: int) -> None:
            body = {"interactions": [{"item": self.post(), "event": REQUEST_LESS} for _ in range(100)]}
            await self.request(
                stats,
                "POST",
                f"/xrpc/{SEND_INTERACTIONS}",
                headers={"authorization": f"Bearer {self.viewer_token(SEND_INTERACTIONS)}"},
                json=body,
            )

        await self.paced(start, end, rate, cap, one, "flood")

    async def flood_reads(self, start: float, end: float, rate: float, cap: int) -> None:
        stats = self.stats["flood-reads"]

        async def one(_: int) -> None:
            headers = {"authorization": f"Bearer {self.viewer_token(GET_FEED_SKELETON)}"}
            response = await self.request(
                stats, "GET", self.skeleton_path(self.rng.choice(self.feeds)), headers=headers
            )
            self.remember_posts(response)

        await self.paced(start, end, rate, cap, one, "flood-reads")

    async def scrape_metrics(self) -> None:
        """The server's memory-bound counters and gauges, read at the end."""
        wanted = ("gitfeed_memory_bounds", "gitfeed_snapshot_bytes", "gitfeed_snapshots_kept")
        with contextlib.suppress(httpx.HTTPError):
            response = await self.http.get(self.base + "/metrics", timeout=10)
            for line in response.text.splitlines():
                if line.startswith(wanted):
                    name, _, value = line.rpartition(" ")
                    with contextlib.suppress(ValueError):
                        self.metrics[name] = float(value)

    def report(self) -> dict:
        steered_plc = [did for did in self.directory.requests if not PLC_PATH.match(did)]
        return {
            "done": True,
            "attacks": {name: stats.summary() for name, stats in self.stats.items()},
            "cursors_captured": len(self.cursors),
            "skipped": dict(self.skipped),
            "token_kinds": dict(self.token_kinds),
            "hosts": {
                behaviour: {
                    "hosts": sum(1 for h in self.hosts if h.stats.behaviour == behaviour),
                    "connections": sum(
                        h.stats.connections for h in self.hosts if h.stats.behaviour == behaviour
                    ),
                    "mib_sent": round(
                        sum(h.stats.bytes_sent for h in self.hosts if h.stats.behaviour == behaviour) / 2**20,
                        2,
                    ),
                    "max_hold_s": round(
                        max(h.stats.max_hold_s for h in self.hosts if h.stats.behaviour == behaviour), 2
                    ),
                }
                for behaviour in BEHAVIOURS
            },
            "steered": [line for h in self.hosts for line in h.stats.steered] + steered_plc,
            "plc": {"requests": len(self.directory.requests), "distinct": len(set(self.directory.requests))},
            "metrics": self.metrics,
        }


def _cursor(response: httpx.Response | None) -> str | None:
    if response is None or response.status_code != 200:
        return None
    with contextlib.suppress(ValueError, AttributeError):
        return response.json().get("cursor")
    return None


async def main_async(args: argparse.Namespace) -> None:
    directory = await LocalPLC().start()
    hosts = [await HostileHost(b).start() for b in BEHAVIOURS for _ in range(HOSTS_PER_BEHAVIOUR)]
    ready = {"plc_url": directory.url, "hosts": [h.did for h in hosts], "viewer": VIEWER}
    tmp = Path(f"{args.ready_file}.partial")
    tmp.write_text(json.dumps(ready))
    os.replace(tmp, args.ready_file)
    print(json.dumps({"ready": ready}), flush=True)
    attacker = Attacker(args, directory, hosts)
    try:
        await attacker.run()
    finally:
        print(json.dumps(attacker.report()), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="http://127.0.0.1:PORT of the feed generator")
    parser.add_argument("--ready-file", required=True, type=Path)
    parser.add_argument("--t0", type=float, default=None, help="the soak's start (epoch seconds)")
    parser.add_argument("--duration", type=float, default=600.0, help="soak seconds; attacks stop then")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every attack's rate")
    parser.add_argument("--body-mib", type=float, default=64.0, help="size of each oversized body")
    parser.add_argument("--ttl", type=float, default=120.0, help="the server's FEEDGEN_SNAPSHOT_TTL_SECONDS")
    parser.add_argument("--aud", default="did:web:soak.local", help="the server's service DID")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--only",
        default=",".join(ATTACKS),
        help=f"comma-separated attacks to run (default all: {','.join(ATTACKS)})",
    )
    args = parser.parse_args(argv)
    args.only = set(args.only.split(","))
    if args.only - set(ATTACKS):
        parser.error(f"unknown attacks: {sorted(args.only - set(ATTACKS))}")
    if args.t0 is None:
        args.t0 = time.time()
    return args


if __name__ == "__main__":
    asyncio.run(main_async(parse_args()))
    sys.exit(0)
