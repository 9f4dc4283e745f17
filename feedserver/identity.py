"""An account's atproto signing key from its DID, fetched so that a stranger's token cannot steer it.

Why our own and not the atproto SDK's `AsyncDidResolver`: the issuer of a service JWT is whatever the
sender wrote, and the key is needed before the signature can be checked. The SDK builds a URL from the
DID without checking its syntax (`did:web:host/any/path?q=`, `did:plc:x/../../export`), reads any size
for as long as the server trickles, and its cache grows without bound and forgets failures. Here:

- only `did:plc:<24 base32>` and `did:web:<host name>` are fetched (`resolvable_did`), checked before
  any request; a did:web host is a public DNS name, never an IP literal, a one-label or special-use
  name; `did:web:localhost%3APORT` (over http) only where the operator allows it for local testing;
- one GET with no redirects, a total time limit (not per read) and a byte cap, read as it streams;
- `KeyCache`: an LRU capped in entries, with a TTL, failures remembered for a while (a transient one,
  a timeout or a 429/5xx, only briefly: a PLC hiccup must not lock real viewers out for minutes), at
  most one forced refresh per DID per interval, and one fetch shared by every concurrent lookup of a DID.
- PLC and did:web hosts use separate connection pools, so slow did:web hosts a stranger names cannot
  queue the lookups of real viewers at PLC.

The SDK is still used to read the key out of the document (`DidDocument.get_did_key`).
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import orjson
from atproto_core.did_doc import DidDocument

from firehose.decode.syntax import is_handle

__all__ = ["DidFetcher", "KeyCache", "ResolveError", "resolvable_did"]

_PLC = re.compile(r"did:plc:[a-z2-7]{24}\Z")
_LOCALHOST_WEB = re.compile(r"did:web:localhost(%3A[0-9]{1,5})?\Z")
# Special-use names (the atproto handle spec's disallowed TLDs): never a public did:web host.
_SPECIAL_TLDS = frozenset({"alt", "arpa", "example", "internal", "invalid", "local", "localhost", "onion"})
_ACCEPT = "application/did+ld+json, application/json;q=0.9"
TRANSIENT_FAILURE_TTL_SECONDS = 10.0


class ResolveError(Exception):
    """The DID has no key we can use: refused, unreachable, too big, too slow or malformed.

    `transient`: the answer may differ in a moment (timeout, connection error, HTTP 429 or 5xx).
    """

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


def resolvable_did(did: str, *, allow_localhost: bool = False) -> bool:
    """Whether we would fetch this DID's document (pure: call it before any request)."""
    if _PLC.match(did):
        return True
    if not did.startswith("did:web:"):
        return False
    if allow_localhost and _LOCALHOST_WEB.match(did):
        return True
    host = did[len("did:web:") :]
    return is_handle(host) and host.rsplit(".", 1)[-1].lower() not in _SPECIAL_TLDS


class DidFetcher:
    """GETs a DID document: `PLC_URL/<did>` for did:plc, `https://HOST/.well-known/did.json` for did:web."""

    def __init__(
        self,
        plc_url: str,
        *,
        timeout_seconds: float = 3.0,
        max_bytes: int = 64 * 1024,
        allow_localhost_web: bool = False,
    ) -> None:
        self.plc_url = plc_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self.allow_localhost_web = allow_localhost_web
        self._clients: dict[str, httpx.AsyncClient] = {}  # "plc" and "web": one pool each
        self._loop: asyncio.AbstractEventLoop | None = None

    def url_for(self, did: str) -> str:
        if not resolvable_did(did, allow_localhost=self.allow_localhost_web):
            raise ResolveError(f"not a did:plc or did:web we resolve: {did[:80]!r}")
        if did.startswith("did:plc:"):
            return f"{self.plc_url}/{did}"
        host = did[len("did:web:") :]
        if host.startswith("localhost"):
            return f"http://{host.replace('%3A', ':')}/.well-known/did.json"
        return f"https://{host}/.well-known/did.json"

    async def atproto_key(self, did: str) -> str:
        """The `#atproto` verification key of `did` as a did:key; ResolveError when there is none."""
        body = await self.fetch(self.url_for(did), pool="plc" if did.startswith("did:plc:") else "web")
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise ResolveError(f"the DID document of {did} is not JSON") from error
        if not isinstance(document, dict) or document.get("id") != did:
            raise ResolveError(f"the DID document of {did} is for another DID")
        try:
            key = DidDocument.from_dict(document).get_did_key()
        except Exception as error:  # pydantic validation, multibase decoding: all mean "no usable key"
            raise ResolveError(f"the DID document of {did} is malformed") from error
        if not key:
            raise ResolveError(f"the DID document of {did} has no atproto key")
        return key

    async def fetch(self, url: str, *, pool: str = "web") -> bytes:
        """The body of a 200 answer to GET `url`, at most `max_bytes`, within `timeout_seconds` in all."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await self._read(url, pool)
        except TimeoutError as error:
            message = f"no DID document within {self.timeout_seconds:g} s"
            raise ResolveError(message, transient=True) from error
        except httpx.HTTPError as error:
            message = f"fetching the DID document failed: {type(error).__name__}"
            raise ResolveError(message, transient=True) from error

    async def _read(self, url: str, pool: str) -> bytes:
        headers = {"accept": _ACCEPT, "accept-encoding": "identity"}
        async with self._http(pool).stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                status = response.status_code
                transient = status == 429 or status >= 500
                raise ResolveError(f"the DID document answered HTTP {status}", transient=transient)
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise ResolveError("the DID document came compressed though we asked for identity")
            length = response.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
                raise ResolveError(f"the DID document is larger than {self.max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > self.max_bytes:
                    raise ResolveError(f"the DID document is larger than {self.max_bytes} bytes")
            return bytes(body)

    def _http(self, pool: str) -> httpx.AsyncClient:
        # A client belongs to the loop it first ran on; a test client may run each request on a new loop.
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._clients, self._loop = {}, loop
        client = self._clients.get(pool)
        if client is None:
            client = self._clients[pool] = httpx.AsyncClient(
                follow_redirects=False,
                timeout=httpx.Timeout(self.timeout_seconds),
                limits=httpx.Limits(max_connections=32, max_keepalive_connections=8),
            )
        return client

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        if self._loop is asyncio.get_running_loop():
            for client in clients.values():
                await client.aclose()


@dataclass
class _Entry:
    key: str | None  # None: the lookup failed with `error`
    error: str
    expires_at: float
    forced_at: float  # when the last forced refresh of this DID ran

    def value(self) -> str:
        if self.key is None:
            raise ResolveError(self.error)
        return self.key


class KeyCache:
    """DID -> atproto key, bounded: at most `max_entries` DIDs (least recently used go first).

    A key is kept `ttl_seconds`, a failure `failure_ttl_seconds` (a bad token costs one lookup, not one
    per request), a transient failure at most `TRANSIENT_FAILURE_TTL_SECONDS`. `force_refresh` (the
    signature did not match: the key may have rotated) fetches again at most once per DID per
    `refresh_interval_seconds`; otherwise it answers the cached key. Concurrent lookups of one DID
    share one fetch.
    """

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[str]],
        *,
        max_entries: int = 10_000,
        ttl_seconds: float = 3600.0,
        failure_ttl_seconds: float = 300.0,
        refresh_interval_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.failure_ttl_seconds = failure_ttl_seconds
        self.refresh_interval_seconds = refresh_interval_seconds
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[_Entry]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def key(self, did: str, *, force_refresh: bool = False) -> str:
        """The cached or fetched key of `did`; ResolveError when it has none (cached as well)."""
        entry = self._entries.get(did)
        now = self._clock()
        if entry is not None:
            self._entries.move_to_end(did)
            if entry.expires_at > now and (
                not force_refresh
                or entry.key is None
                or now - entry.forced_at < self.refresh_interval_seconds
            ):
                return entry.value()
        pending = self._inflight.get(did)
        if pending is None:
            forced = force_refresh and entry is not None and entry.expires_at > now
            pending = asyncio.ensure_future(self._load(did, entry if forced else None, forced))
            self._inflight[did] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(did, None))
        # shield: a caller that gives up (client gone) does not cancel the fetch the others wait on
        return (await asyncio.shield(pending)).value()

    async def _load(self, did: str, previous: _Entry | None, forced: bool) -> _Entry:
        forced_at = self._clock() if forced else -math.inf
        try:
            key = await self._fetch(did)
        except Exception as error:  # ResolveError, or anything else the fetch raised: a failed lookup
            if previous is not None and previous.key is not None:
                # a failed forced refresh keeps the key we had rather than locking the account out
                entry = _Entry(previous.key, "", previous.expires_at, forced_at)
            else:
                known = isinstance(error, ResolveError)
                message = str(error) if known else type(error).__name__
                ttl = self.failure_ttl_seconds
                if known and error.transient:
                    ttl = min(ttl, TRANSIENT_FAILURE_TTL_SECONDS)
                expires = self._clock() + ttl
                entry = _Entry(
                    None, f"could not resolve the signing key of {did}: {message}", expires, forced_at
                )
        else:
            entry = _Entry(key, "", self._clock() + self.ttl_seconds, forced_at)
        self._store(did, entry)
        return entry

    def _store(self, did: str, entry: _Entry) -> None:
        self._entries[did] = entry
        self._entries.move_to_end(did)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        self._drop_expired(self._clock())

    def _drop_expired(self, now: float, most: int = 8) -> None:
        """Drop up to `most` expired entries from the least recently used end. Why: a stranger's random
        issuers are each looked up once and never again, so their failures would stay until the LRU cap
        pushed them out, memory that grows through hours of such tokens; this way the cache holds about
        one failure TTL's worth of them."""
        entries = self._entries
        for _ in range(most):
            oldest = next(iter(entries.values()), None)
            if oldest is None or oldest.expires_at > now:
                return
            entries.popitem(last=False)
