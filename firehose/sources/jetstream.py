"""Jetstream v2 (`network.bsky.jetstream.subscribeEvents`) through atproto 0.0.73's `AsyncJetstreamClient`.

The SDK client brings the connection lifecycle, the zstd dictionary (fetched over HTTP from the
same host, `compress=True`) and the handshake error mapping. We subscribe to posts, likes and
reposts only (the collections filter; account and identity events are not filtered by it), and
replace three parts of the client: frame decoding (raw JSON payload -> our events, through
`firehose.decode.jetstream`, so records keep exactly the JSON shape Jetstream sent), the backoff
(ours: capped, jittered, reset after `healthy_after_seconds`), and error handling (an error frame
other than ConsumerTooSlow reconnects instead of ending the stream).

The cursor is Jetstream's `seq` (v2; v1's `time_us` is also accepted by the server as a cursor
>= 1e15). The server replays inclusively from the cursor; redelivered events are dropped here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from atproto_jetstream import AsyncJetstreamClient
from atproto_jetstream.client import _error_frame_to_exception
from atproto_jetstream.exceptions import JetstreamCursorTooOldError, JetstreamDecodingError, JetstreamError
from atproto_jetstream.models import ErrorFrame, parse_frame
from websockets.exceptions import ConnectionClosed

from firehose.decode.jetstream import decode_message
from firehose.decode.relay import StreamControl
from firehose.events import LIKE, POST, REPOST, Event, SkippedFrame
from firehose.sources.backoff import Backoff
from firehose.sources.base import Source, SourceError, frame_cursor

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)

COLLECTIONS = [POST, LIKE, REPOST]
QUEUE_MESSAGES = 256
_DONE = object()


class _ErrorFrame(JetstreamError):
    """An error frame other than ConsumerTooSlow: log, back off, reconnect."""


class _Client(AsyncJetstreamClient):
    """The SDK client with our decoding, backoff and error policy (see the module docstring)."""

    def __init__(self, source: JetstreamSource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._source = source
        if source.cursor is not None:
            self._cursor = source.cursor  # inclusive replay: the saved event comes again and is dropped

    def _decode_frame(self, raw_frame: str | bytes) -> list[Event] | None:
        source, stats = self._source, self._source.stats
        stats.frames += 1
        stats.bytes += len(raw_frame)
        try:
            if self._compression is not None and isinstance(raw_frame, bytes | bytearray):
                raw_frame = self._compression.decompress(bytes(raw_frame))
            frame = parse_frame(raw_frame)
        except JetstreamDecodingError as error:
            return [SkippedFrame(cursor=None, reason="bad_json", detail=str(error)[:200])]
        if isinstance(frame, ErrorFrame):
            stats.controls[f"error:{frame.error}"] += 1
            error = _error_frame_to_exception(frame)
            if type(error) is JetstreamError:
                raise _ErrorFrame(error.args[0] if error.args else frame.error)
            log.warning("jetstream %s: %s; reconnecting from %s", source.endpoint, frame.error, self._cursor)
            raise error
        decoded = decode_message(frame.payload)
        if isinstance(decoded, StreamControl):
            self._info(decoded)
            return None
        seq = frame_cursor(decoded)
        if not source.accept(seq):
            return None
        if seq is not None:
            self._track_cursor(seq)
        return decoded

    def _info(self, control: StreamControl) -> None:
        self._source.stats.controls[f"info:{control.name}"] += 1
        text = control.name + (f": {control.message}" if control.message else "")
        if control.name == "FutureCursor":
            # The server started at its live tip, below our cursor: forget it, or we would drop everything.
            log.error("jetstream %s: #info %s; following the live tip from here", self._source.endpoint, text)
            self._forget_cursor()
        elif control.name == "OutdatedCursor":
            log.warning("jetstream %s: #info %s (events were missed)", self._source.endpoint, text)
        else:
            log.info("jetstream %s: #info %s", self._source.endpoint, text)

    def _forget_cursor(self) -> None:
        self._cursor = None
        self._source.cursor = None
        if self._params is not None:
            self._params.pop("cursor", None)

    def _get_reconnection_delay(self) -> float:
        return self._source.backoff.next_delay()

    def _track_reconnection(self, connected_at: float | None) -> None:
        super()._track_reconnection(connected_at)
        if connected_at is not None:
            self._source.backoff.connected(at=connected_at)

    def _handle_websocket_error_or_stop(self, exception: Exception) -> bool:
        stats, endpoint = self._source.stats, self._source.endpoint
        if self._stop_event.is_set():
            return True
        if isinstance(exception, TimeoutError):
            stats.stalls += 1
            log.warning("jetstream %s: no message for %.1fs; reconnecting", endpoint, self._recv_timeout)
            return False
        if isinstance(exception, ConnectionClosed):
            stats.disconnects += 1
            log.warning("jetstream %s: connection closed (%s); reconnecting", endpoint, exception)
            return False
        if isinstance(exception, _ErrorFrame):
            log.warning("jetstream %s: error frame %s; reconnecting", endpoint, exception)
            return False
        try:
            return super()._handle_websocket_error_or_stop(exception)
        except JetstreamCursorTooOldError:
            log.error(
                "jetstream %s: cursor %s is below the retention floor; following the live tip",
                endpoint,
                self._cursor,
            )
            self._forget_cursor()
            return False


class JetstreamSource(Source):
    """Jetstream v2 from a base URL such as `wss://jetstream.us-east.bsky.network` or `ws://127.0.0.1:PORT`."""

    kind = "jetstream"

    def __init__(
        self, endpoint: str, settings: Settings, *, cursor: int | None = None, compress: bool = True
    ) -> None:
        endpoint = endpoint.rstrip("/").removesuffix("/xrpc")
        if not endpoint.startswith(("ws://", "wss://")):
            raise SourceError(f"jetstream endpoint must be a ws:// or wss:// base URL, not {endpoint!r}")
        super().__init__(endpoint, cursor)
        self.endpoint = endpoint
        self.compress = compress
        self.receive_timeout = settings.receive_timeout_seconds
        self.backoff = Backoff.from_settings(settings)
        self.client: _Client | None = None

    @property
    def compressed(self) -> bool:
        """Whether frames arrive zstd-compressed (the SDK falls back to plain JSON if the server will not)."""
        return self.client is not None and self.client.compressed

    def _new_client(self) -> _Client:
        params: dict[str, Any] = {"collections": COLLECTIONS}
        if self.cursor is not None:
            params["cursor"] = self.cursor
        return _Client(
            self,
            params=params,
            base_uri=self.endpoint + "/xrpc",
            recv_timeout=self.receive_timeout,
            compress=self.compress,
        )

    async def stream(self) -> AsyncIterator[list[Event]]:
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_MESSAGES)
        client = self.client = self._new_client()

        async def on_message(events: list[Event]) -> None:
            await queue.put(events)

        task = asyncio.create_task(client.start(on_message), name="gitfeed-jetstream")
        task.add_done_callback(lambda _: asyncio.ensure_future(queue.put(_DONE)))
        try:
            while True:
                item = await queue.get()
                if item is _DONE:
                    break
                yield item
            if not task.cancelled() and task.exception() is not None:
                error = task.exception()
                raise SourceError(f"jetstream {self.endpoint}: {error}") from error
        finally:
            await client.stop()
            task.cancel()
            with contextlib.suppress(BaseException):
                await task

    async def raw_frames(self) -> AsyncIterator[bytes]:
        raise SourceError("capturing Jetstream is not supported: capture files hold relay frames")
