"""Jetstream v2 (`network.bsky.jetstream.subscribeEvents`): a small client of our own on `websockets`.

Why not atproto 0.0.73's `AsyncJetstreamClient`: its public API hands the callback SDK models,
never the raw payload, and it owns the policy with no public hook for it: its own backoff (not
reset after `healthy_after_seconds`), an error frame other than ConsumerTooSlow ends the stream,
CursorTooOld ends it, a per-frame `asyncio.wait_for` as the receive timeout (the cost `StallWatch`
avoids) and its own dedup. Using it meant overriding its private methods. And importing it loads
the SDK's whole model package, about 9 s on these machines, for every importer of
`firehose.sources`, relay ingest included. What we need of it is small, so it is here: the
connection loop, stall watch and backoff are the relay's (`sources.websocket:WebsocketSource`),
and the decoding is `firehose.decode.jetstream:decode_message` on the JSON exactly as Jetstream
sent it (records keep its shape). We keep the SDK's protocol:

- the handshake: subprotocol `xrpc.v1.json`; `collections` (posts, likes, reposts; account and
  identity events are not filtered by it) and `cursor` as query parameters;
- zstd (`compress=True`): the dictionary comes over HTTP from `getZstdDictionary` on the same
  host, once, and `zstdDictionary=<its id>` asks for compressed frames. If it cannot be had, or
  the server refuses it (`UnknownZstdDictionary`) and hands back the same id again, the stream goes
  on as plain JSON; a refused id with a new one on offer is fetched again;
- a handshake refused with 4xx ends the stream (SourceError), except `CursorTooOld` (the cursor
  is below the retention floor: follow the live tip); 5xx and network errors retry with backoff;
- every error frame reconnects from the cursor (ConsumerTooSlow included); `#info FutureCursor`
  means the server started at its live tip, below our cursor, so the cursor is forgotten.

The cursor is Jetstream's `seq` (v2; v1's `time_us` is also accepted by the server as a cursor
>= 1e15). The server replays inclusively from the cursor; `Source.accept` drops the redelivered event.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import orjson
import zstandard
from websockets.exceptions import InvalidStatus

from firehose.decode.jetstream import NSID, decode_message
from firehose.decode.relay import StreamControl
from firehose.events import LIKE, POST, REPOST, Event, SkippedFrame
from firehose.sources.base import SourceError, frame_cursor
from firehose.sources.websocket import OPEN_TIMEOUT_SECONDS, Reconnect, WebsocketSource

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)

COLLECTIONS = [POST, LIKE, REPOST]
SUBSCRIBE_EVENTS = f"/xrpc/{NSID}"
GET_ZSTD_DICTIONARY = "/xrpc/network.bsky.jetstream.getZstdDictionary"
SUBPROTOCOL = "xrpc.v1.json"
MAX_MESSAGE_BYTES = 32 * 1024 * 1024  # v2 frames embed the record (the SDK's limit, compressed and not)
DICTIONARY_MAGIC = 0xEC30A437  # a zstd dictionary's first four bytes (RFC 8878, section 5)


def subscribe_url(endpoint: str, cursor: int | None, dictionary_id: int | None = None) -> str:
    """`wss://jetstream.us-east.bsky.network` + cursor (+ dictionary) -> the subscribeEvents URL."""
    params: dict[str, Any] = {"collections": COLLECTIONS}
    if cursor is not None:
        params["cursor"] = cursor
    if dictionary_id is not None:
        params["zstdDictionary"] = dictionary_id
    return endpoint + SUBSCRIBE_EVENTS + "?" + urlencode(params, doseq=True)


def dictionary_id(blob: bytes) -> int:
    """The id of a zstd dictionary (what `zstdDictionary` names); ValueError for anything else."""
    if len(blob) < 8:
        raise ValueError("too short for a zstd dictionary")
    magic, found = struct.unpack("<II", blob[:8])
    if magic != DICTIONARY_MAGIC:
        raise ValueError("not a zstd dictionary")
    return found


def xrpc_error(body: bytes | None) -> str | None:
    """The `error` name of an XRPC error body, if it is one."""
    try:
        parsed = orjson.loads(body or b"")
    except orjson.JSONDecodeError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, str) else None


class JetstreamSource(WebsocketSource[list[Event]]):
    """Jetstream v2 from a base URL such as `wss://jetstream.us-east.bsky.network` or `ws://127.0.0.1:PORT`."""

    kind = "jetstream"

    def __init__(
        self, endpoint: str, settings: Settings, *, cursor: int | None = None, compress: bool = True
    ) -> None:
        super().__init__(endpoint.rstrip("/").removesuffix("/xrpc"), settings, cursor)
        self.compress = compress
        self._want_dictionary = compress  # False once compression is given up for good
        self._dictionary_id: int | None = None
        self._rejected_id: int | None = None
        self._decompressor: zstandard.ZstdDecompressor | None = None

    @property
    def compressed(self) -> bool:
        """Whether frames arrive zstd-compressed (plain JSON when the server has no usable dictionary)."""
        return self._decompressor is not None

    def url(self) -> str:
        return subscribe_url(self.endpoint, self.cursor, self._dictionary_id)

    def stream(self) -> AsyncIterator[list[Event]]:
        return self.items()

    async def raw_frames(self) -> AsyncIterator[bytes]:
        raise SourceError("capturing Jetstream is not supported: capture files hold relay frames")

    async def before_connect(self) -> None:
        if self._want_dictionary and self._dictionary_id is None:
            await self._fetch_dictionary()

    async def _fetch_dictionary(self) -> None:
        url = self.endpoint.replace("ws", "http", 1) + GET_ZSTD_DICTIONARY
        try:
            async with httpx.AsyncClient(timeout=OPEN_TIMEOUT_SECONDS, follow_redirects=True) as http:
                response = (await http.get(url)).raise_for_status()
            blob = response.content
            found = dictionary_id(blob)
        except (httpx.HTTPError, ValueError) as error:
            self._plain_json(f"no zstd dictionary from {url} ({error})")
            return
        if found == self._rejected_id:
            self._plain_json(f"the server refused its own zstd dictionary {found}")
            return
        self._decompressor = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(blob))
        self._dictionary_id = found

    def _plain_json(self, why: str) -> None:
        log.warning("jetstream %s: %s; reading plain JSON", self.endpoint, why)
        self._want_dictionary = False
        self._dictionary_id = None
        self._decompressor = None

    def rejected(self, error: InvalidStatus) -> None:
        status, name = error.response.status_code, xrpc_error(error.response.body)
        if not 400 <= status < 500:
            super().rejected(error)
        elif name == "UnknownZstdDictionary" and self._dictionary_id is not None:
            log.info(
                "jetstream %s: dictionary %s retired; fetching another", self.endpoint, self._dictionary_id
            )
            self._rejected_id, self._dictionary_id, self._decompressor = self._dictionary_id, None, None
        elif name == "CursorTooOld":
            log.error(
                "jetstream %s: cursor %s is below the retention floor; following the live tip",
                self.endpoint,
                self.cursor,
            )
            self.cursor = None
        else:
            raise SourceError(f"jetstream {self.endpoint}: subscribing refused: {error}") from error

    async def connection(self, url: str) -> AsyncIterator[list[Event]]:
        async with self.open(url, subprotocols=[SUBPROTOCOL], max_size=MAX_MESSAGE_BYTES) as recv:
            while True:
                events = self._decode(await recv())
                if events is not None:
                    yield events

    def _decode(self, frame: str | bytes) -> list[Event] | None:
        """One frame -> its events; None for #info or a redelivered event; Reconnect for an error frame."""
        try:
            if self._decompressor is not None and isinstance(frame, bytes):
                frame = self._decompressor.decompress(frame, max_output_size=MAX_MESSAGE_BYTES)
            parsed = orjson.loads(frame)
        except (zstandard.ZstdError, orjson.JSONDecodeError) as error:
            detail = f"{type(error).__name__}: {error}"[:200]
            return [SkippedFrame(cursor=None, reason="bad_json", detail=detail)]
        kind = parsed.get("$type") if isinstance(parsed, dict) else None
        if kind == "error":
            self._error_frame(str(parsed.get("error", "")), parsed.get("message"))
        if kind != "message" or not isinstance(parsed.get("payload"), dict):
            return [SkippedFrame(cursor=None, reason="bad_json", detail=f"frame of type {str(kind)[:60]!r}")]
        decoded = decode_message(parsed["payload"])
        if isinstance(decoded, StreamControl):
            self._info(decoded)
            return None
        return decoded if self.accept(frame_cursor(decoded)) else None

    def _error_frame(self, name: str, message: object) -> None:
        self.stats.controls[f"error:{name}"] += 1
        text = name + (f": {message}" if message else "")
        if name == "ConsumerTooSlow":
            log.warning("jetstream %s: ConsumerTooSlow; resuming from %s", self.endpoint, self.cursor)
        else:
            log.warning("jetstream %s: error frame %s", self.endpoint, text)
        raise Reconnect(f"error frame {name}")

    def _info(self, control: StreamControl) -> None:
        self.stats.controls[f"info:{control.name}"] += 1
        text = control.name + (f": {control.message}" if control.message else "")
        if control.name == "FutureCursor":
            # The server started at its live tip, below our cursor: forget it, or we would drop everything.
            log.error("jetstream %s: #info %s; following the live tip from here", self.endpoint, text)
            self.cursor = None
        elif control.name == "OutdatedCursor":
            log.warning("jetstream %s: #info %s (events were missed)", self.endpoint, text)
        else:
            log.info("jetstream %s: #info %s", self.endpoint, text)
