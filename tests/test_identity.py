"""A token's issuer cannot steer the server: a hostile DID host on 127.0.0.1 against the real app.

The host plays PLC (`GET /<did>`) and did:web (`GET /.well-known/did.json`) and misbehaves on request:
a document of 64 MiB, one that trickles a byte at a time, a redirect, a 404, a slow answer. Every
assertion is on what the server answered and what the host saw (requests, bytes sent), not on time.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import tracemalloc
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from feedserver.app import create_app
from feedserver.auth import ServiceAuth
from feedserver.identity import (
    TRANSIENT_FAILURE_TTL_SECONDS,
    DidFetcher,
    KeyCache,
    ResolveError,
    resolvable_did,
)
from firehose.settings import Settings
from tests.support.seed import feed_at, make_db, server_settings
from tests.support.servicetokens import LXM, VIEWER, Directory, Keypair, make_jwt

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "interop-syntax"
SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"
HUGE = 64 * 1024 * 1024
CHUNK = 64 * 1024
FEED = feed_at("github")


class HostileHost:
    """A DID host answering `behaviour[did]`: doc, missing, down, huge(-length), trickle, redirect, slow."""

    def __init__(self) -> None:
        self.keys: dict[str, Keypair] = {}
        self.behaviour: dict[str, str] = {}
        self.requests: list[str] = []
        self.sent: dict[str, int] = {}  # body bytes written before the answer ended or the client left
        self.done = threading.Event()
        self.web_did = ""
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                host.requests.append(self.path)
                did = host.web_did if self.path == "/.well-known/did.json" else self.path.lstrip("/")
                sent = 0
                try:
                    sent = host.answer(self, did)
                except (BrokenPipeError, ConnectionResetError) as gone:
                    sent = getattr(gone, "sent", 0)
                finally:
                    host.sent[did] = sent
                    host.done.set()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler: BaseHTTPRequestHandler, did: str) -> int:
        mode = self.behaviour.get(did, "doc")
        key = self.keys.get(did)
        if key is None or mode in ("missing", "down"):
            handler.send_response(404 if mode != "down" else 503)
            handler.end_headers()
            return 0
        body = json.dumps(Directory.document(did, key)).encode()
        if mode == "redirect":
            handler.send_response(302)
            handler.send_header("location", f"{self.url}/elsewhere/{did}")
            handler.end_headers()
            return 0
        if mode == "slow":
            time.sleep(0.5)  # long enough for every concurrent request to be waiting on this one
        handler.send_response(200)
        handler.send_header("content-type", "application/json")
        if mode in ("doc", "slow", "trickle"):
            handler.send_header("content-length", str(len(body)))
        if mode == "huge-length":
            handler.send_header("content-length", str(HUGE))
        handler.end_headers()
        if mode in ("doc", "slow"):
            handler.wfile.write(body)
            return len(body)
        if mode == "trickle":
            return self._write(handler, (body[i : i + 1] for i in range(len(body))), pause=0.05)
        # huge: a valid document whose padding field runs to 64 MiB (no length: the body ends at close)
        head, pad = body[:-1] + b', "pad": "', b"x" * CHUNK
        chunks = [head] + [pad] * ((HUGE - len(head)) // CHUNK) + [b'"}']
        return self._write(handler, iter(chunks), pause=0.0)

    @staticmethod
    def _write(handler: BaseHTTPRequestHandler, chunks: Iterator[bytes], pause: float) -> int:
        sent = 0
        try:
            for chunk in chunks:
                handler.wfile.write(chunk)
                handler.wfile.flush()
                sent += len(chunk)
                if pause:
                    time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError) as gone:
            gone.sent = sent  # type: ignore[attr-defined]
            raise
        return sent

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def host() -> Iterator[HostileHost]:
    hostile = HostileHost()
    yield hostile
    hostile.close()


def settings_for(db_path: Path, host: HostileHost, **overrides: object) -> Settings:
    make_db(db_path).conn.close()
    return server_settings(db_path, auth_mode="required", plc_url=host.url, **overrides)


def get(client: TestClient, token: str) -> httpx.Response:
    return client.get(SKELETON, params={"feed": FEED}, headers={"authorization": f"Bearer {token}"})


def random_plc() -> str:
    return "did:plc:" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(24))


# --- syntax: what is fetched at all ----------------------------------------------------------------


def _vectors(name: str) -> list[str]:
    path = VECTORS / name
    if not path.is_file():
        return []
    return [
        line for line in path.read_text(encoding="utf-8").split("\n") if line and not line.startswith("#")
    ]


@pytest.mark.parametrize("did", _vectors("did_syntax_invalid.txt"), ids=lambda d: d[:40])
def test_no_invalid_did_vector_is_resolvable(did: str) -> None:
    assert not resolvable_did(did, allow_localhost=True)


RESOLVABLE_VECTORS = {"did:plc:7iza6de2dwap2sbkpav7c6c6", "did:web:example.com"}


@pytest.mark.parametrize("did", _vectors("did_syntax_valid.txt"), ids=lambda d: d[:40])
def test_only_plc_and_web_host_vectors_are_resolvable(did: str) -> None:
    assert resolvable_did(did) is (did in RESOLVABLE_VECTORS)
    assert resolvable_did(did, allow_localhost=True) is (
        did in RESOLVABLE_VECTORS or did == "did:web:localhost%3A1234"
    )


def steering_issuers(port: int) -> list[str]:
    plc = "did:plc:" + "a" * 24
    return [
        "did:plc:x/../../export?count=1000",
        f"{plc}/../../export",
        f"{plc}?after=0",
        f"{plc}%2F..%2Fexport",
        f"{plc}/log/audit",
        "did:plc:" + "A" * 24,
        "did:plc:" + "a" * 25,
        "did:plc:" + "a" * 23,
        "did:plc:" + "0189" * 6,
        "did:web:attacker.example/any/path?q=",
        "did:web:attacker.test/any/path",
        "did:web:attacker.test?q=1",
        "did:web:attacker.test:path:segment",
        "did:web:user@attacker.test",
        "did:web:attacker.test..",
        "did:web:..",
        "did:web:127.0.0.1",
        f"did:web:127.0.0.1%3A{port}",
        f"did:web:localhost%3A{port}",  # only with FEEDGEN_DID_WEB_LOCALHOST
        "did:web:localhost",
        "did:web:metadata.google.internal",
        "did:web:printer.local",
        "did:key:zQ3shZc2QzApp2oymGvQbzP8eKheVshBHbU4ZYjeXqwSKEn6N",
    ]


def test_a_steering_issuer_is_refused_before_any_request(db_path: Path, host: HostileHost) -> None:
    key = Keypair("ES256K")
    with TestClient(create_app(settings_for(db_path, host))) as client:
        for iss in steering_issuers(host.port):
            host.keys[iss] = key
            response = get(client, make_jwt(key, iss=iss))
            assert response.status_code == 401, iss
            assert response.json()["error"] == "BadJwtIss", (iss, response.json())
    assert host.requests == []


def test_claims_are_checked_before_the_issuer_is_fetched(db_path: Path, host: HostileHost) -> None:
    key, iss = Keypair("ES256K"), random_plc()
    host.keys[iss] = key
    now = int(time.time())
    with TestClient(create_app(settings_for(db_path, host))) as client:
        assert get(client, make_jwt(key, iss=iss, exp=now - 300)).json()["error"] == "JwtExpired"
        assert get(client, make_jwt(key, iss=iss, aud="did:web:x.test")).json()["error"] == "BadJwtAudience"
        assert get(client, make_jwt(key, iss=iss, lxm="x.y.z")).json()["error"] == "BadJwtLexiconMethod"
    assert host.requests == []


def test_did_web_on_localhost_only_when_allowed(db_path: Path, host: HostileHost) -> None:
    key = Keypair("ES256")
    host.web_did = f"did:web:localhost%3A{host.port}"
    host.keys[host.web_did] = key
    with TestClient(create_app(settings_for(db_path, host, did_web_localhost=True))) as client:
        assert get(client, make_jwt(key, iss=host.web_did)).status_code == 200
    assert host.requests == ["/.well-known/did.json"]


# --- bounded fetches ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["huge", "huge-length"])
def test_a_huge_document_is_cut(db_path: Path, host: HostileHost, mode: str) -> None:
    key, iss = Keypair("ES256K"), random_plc()
    host.keys[iss], host.behaviour[iss] = key, mode
    with TestClient(create_app(settings_for(db_path, host))) as client:
        tracemalloc.start()
        try:
            response = get(client, make_jwt(key, iss=iss))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert host.done.wait(30)
    assert response.status_code == 401 and response.json()["error"] == "BadJwtIss", response.text
    assert "larger than 65536 bytes" in response.json()["message"]
    assert host.sent[iss] < HUGE // 4  # the server stopped reading; what got through sat in socket buffers
    assert peak < 8 * 1024 * 1024, f"{peak / 2**20:.1f} MiB allocated while refusing"


def test_a_trickling_document_is_cut_at_the_total_time_limit(db_path: Path, host: HostileHost) -> None:
    """Every byte arrives well within any per-read timeout; the whole would take about 30 s."""
    key, iss = Keypair("ES256K"), random_plc()
    host.keys[iss], host.behaviour[iss] = key, "trickle"
    full = len(json.dumps(Directory.document(iss, key)).encode())
    with TestClient(create_app(settings_for(db_path, host, did_timeout_seconds=1.0))) as client:
        response = get(client, make_jwt(key, iss=iss))
        assert host.done.wait(30)
    assert response.status_code == 401 and response.json()["error"] == "BadJwtIss", response.text
    assert "within 1 s" in response.json()["message"]
    assert host.sent[iss] < full


def test_a_redirect_is_not_followed(db_path: Path, host: HostileHost) -> None:
    key, iss = Keypair("ES256K"), random_plc()
    host.keys[iss], host.behaviour[iss] = key, "redirect"
    with TestClient(create_app(settings_for(db_path, host))) as client:
        response = get(client, make_jwt(key, iss=iss))
    assert response.status_code == 401 and "HTTP 302" in response.json()["message"]
    assert host.requests == [f"/{iss}"]


# --- the key cache -----------------------------------------------------------------------------------


def test_the_cache_holds_at_most_its_size(db_path: Path, host: HostileHost) -> None:
    settings = settings_for(db_path, host, did_cache_size=5)
    auth = ServiceAuth.create(settings)
    key = Keypair("ES256K")
    issuers = [random_plc() for _ in range(20)]  # unknown to the host: each one a 404
    with TestClient(create_app(settings, auth=auth)) as client:
        for iss in issuers:
            assert get(client, make_jwt(key, iss=iss)).json()["error"] == "BadJwtIss"
        assert len(auth.keys) == 5
        assert len(host.requests) == 20
        get(client, make_jwt(key, iss=issuers[-1]))  # still cached (as a failure): no request
        assert len(host.requests) == 20
        get(client, make_jwt(key, iss=issuers[0]))  # evicted long ago: asked again
        assert len(host.requests) == 21
        assert len(auth.keys) == 5


def test_a_failure_is_cached(db_path: Path, host: HostileHost) -> None:
    key, iss = Keypair("ES256K"), random_plc()
    host.behaviour[iss] = "missing"
    with TestClient(create_app(settings_for(db_path, host))) as client:
        for _ in range(5):
            response = get(client, make_jwt(key, iss=iss))
            assert response.status_code == 401 and response.json()["error"] == "BadJwtIss"
        host.keys[iss] = key  # the account appears: still refused until the failure expires
        assert get(client, make_jwt(key, iss=iss)).status_code == 401
    assert host.requests == [f"/{iss}"]


def test_a_failure_is_asked_again_once_it_expires(db_path: Path, host: HostileHost) -> None:
    key, iss = Keypair("ES256K"), random_plc()
    with TestClient(create_app(settings_for(db_path, host, did_failure_ttl_seconds=0))) as client:
        assert get(client, make_jwt(key, iss=iss)).status_code == 401
        host.keys[iss] = key
        assert get(client, make_jwt(key, iss=iss)).status_code == 200
    assert host.requests == [f"/{iss}", f"/{iss}"]


@pytest.mark.parametrize(("interval", "lookups"), [(60.0, 2), (0.0, 6)])
def test_the_forced_refresh_is_rate_limited(
    db_path: Path, host: HostileHost, interval: float, lookups: int
) -> None:
    """Tokens signed by a key that is not the account's: one lookup, then one forced refresh per interval."""
    key, forger = Keypair("ES256K"), Keypair("ES256K")
    host.keys[VIEWER] = key
    settings = settings_for(db_path, host, did_refresh_interval_seconds=interval)
    with TestClient(create_app(settings)) as client:
        for _ in range(5):
            assert get(client, make_jwt(forger)).json()["error"] == "BadJwtSignature"
        assert get(client, make_jwt(key)).status_code == 200  # the real viewer is unaffected
    assert len(host.requests) == lookups


@pytest.mark.parametrize("known", [True, False], ids=["key", "failure"])
def test_concurrent_requests_for_one_issuer_share_one_fetch(
    db_path: Path, host: HostileHost, known: bool
) -> None:
    key, iss = Keypair("ES256"), random_plc()
    host.behaviour[iss] = "slow"
    if known:
        host.keys[iss] = key
    app = create_app(settings_for(db_path, host))
    token = make_jwt(key, iss=iss)

    async def burst() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://feed.test") as client:
            headers = {"authorization": f"Bearer {token}"}
            calls = (client.get(SKELETON, params={"feed": FEED}, headers=headers) for _ in range(20))
            return await asyncio.gather(*calls)

    responses = asyncio.run(burst())
    assert {r.status_code for r in responses} == ({200} if known else {401})
    assert host.requests == [f"/{iss}"]


def test_verify_alone_shares_one_fetch(db_path: Path, host: HostileHost) -> None:
    """The same through ServiceAuth.verify, the path both XRPC routes take."""
    key, iss = Keypair("ES256K"), random_plc()
    host.keys[iss], host.behaviour[iss] = key, "slow"
    auth = ServiceAuth.create(settings_for(db_path, host))
    token = make_jwt(key, iss=iss)

    async def burst() -> list[str]:
        try:
            return await asyncio.gather(*(auth.verify(token, LXM) for _ in range(20)))
        finally:
            await auth.aclose()

    assert asyncio.run(burst()) == [iss] * 20
    assert host.requests == [f"/{iss}"]


def test_a_transient_failure_is_remembered_briefly_and_a_refresh_failure_keeps_the_key(
    host: HostileHost,
) -> None:
    """A 503 (PLC overloaded) must not lock a real viewer out for minutes; a 404 is remembered."""
    down, missing, viewer = random_plc(), random_plc(), random_plc()
    host.behaviour[down], host.behaviour[missing] = "down", "missing"
    host.keys[down] = host.keys[viewer] = Keypair("ES256K")
    clock = [1000.0]
    fetcher = DidFetcher(host.url)
    keys = KeyCache(fetcher.atproto_key, failure_ttl_seconds=300, clock=lambda: clock[0])

    async def lookups() -> None:
        try:
            for did in (down, missing):
                with pytest.raises(ResolveError):
                    await keys.key(did)
            first = await keys.key(viewer)
            clock[0] += TRANSIENT_FAILURE_TTL_SECONDS + 1
            for did in (down, missing):
                with pytest.raises(ResolveError):
                    await keys.key(did)
            host.behaviour[viewer] = "down"  # PLC fails the forced refresh: the key we had stays
            assert await keys.key(viewer, force_refresh=True) == first
            assert await keys.key(viewer) == first
        finally:
            await fetcher.aclose()

    asyncio.run(lookups())
    assert host.requests == [f"/{down}", f"/{missing}", f"/{viewer}", f"/{down}", f"/{viewer}"]


def test_failures_of_issuers_never_seen_again_leave_the_cache_once_expired() -> None:
    """20 random issuers a second for 10 minutes: the cache holds about one failure TTL's worth, not all."""
    clock = [0.0]

    async def fetch(did: str) -> str:
        raise ResolveError(f"no DID document for {did}")

    keys = KeyCache(fetch, max_entries=100_000, failure_ttl_seconds=30, clock=lambda: clock[0])

    async def flood() -> list[int]:
        sizes = []
        for second in range(600):
            clock[0] = float(second)
            for n in range(20):
                with pytest.raises(ResolveError):
                    await keys.key(f"did:plc:{second:012d}{n:012d}")
            sizes.append(len(keys))
        return sizes

    sizes = asyncio.run(flood())
    assert max(sizes) <= 20 * 32 and sizes[-1] <= 20 * 32  # 30 s of failures (and a second of slack)
    assert sizes[100] > 20 * 25  # they are remembered for their TTL: a bad token costs one lookup
