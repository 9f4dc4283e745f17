"""The relay firehose: `com.atproto.sync.subscribeRepos` over a websocket, resumable and stall-proof.

Two kinds of failure (STYLE 4): a connection that fails, drops or goes silent for
`receive_timeout_seconds` reconnects with capped, jittered backoff from `cursor`; a frame that will
not decode is a `SkippedFrame` (counted downstream) and the stream carries on.

Why the websocket's own `max_size` is twice `max_frame_bytes`: a frame between the two is read and
then skipped by the decoder without dropping the connection. A frame over the websocket's limit is
refused before it is read (websockets closes with 1009), so it is counted as skipped here and the
next connection asks for `cursor + 1`: the refused frame was the first one after `cursor` (the
relay sends in seq order), so this skips it, or a seq that does not exist, and never a real frame
we have not seen. Otherwise the relay would send the same giant frame on every reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI, ProtocolError
from websockets.frames import CloseCode

from firehose.decode.relay import StreamControl, decode_frame
from firehose.events import Event, SkippedFrame
from firehose.sources.backoff import Backoff
from firehose.sources.base import Source, SourceError, frame_cursor

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)

SUBSCRIBE_REPOS = "/xrpc/com.atproto.sync.subscribeRepos"
OPEN_TIMEOUT_SECONDS = 10.0


class Reconnect(Exception):  # noqa: N818 - a signal, not an error
    """Leave the current connection and dial again (after backoff unless `now`)."""

    def __init__(self, why: str, *, now: bool = False) -> None:
        super().__init__(why)
        self.now = now


def subscribe_url(endpoint: str, cursor: int | None) -> str:
    """`wss://bsky.network` + cursor -> the subscribeRepos URL."""
    url = endpoint.rstrip("/") + SUBSCRIBE_REPOS
    return url + "?" + urlencode({"cursor": cursor}) if cursor is not None else url


class _StallWatch:
    """Notices a connection that has gone silent: the reader waiting in `recv()` for `timeout` seconds.

    Why not `asyncio.timeout` around each `recv()`: rescheduling its timer twice a frame cost more
    than a tenth of the relay source's CPU. The reader sets two plain attributes per frame instead,
    and this task wakes when the current wait would expire (or every timeout/4 while the reader is
    away, e.g. blocked on a full ingest buffer, which is not a stall). On a stall it aborts the
    transport, so `recv()` raises ConnectionClosed, which the reader turns into the TimeoutError
    the reconnect loop counts as a stall.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float, abort: Callable[[], object]) -> None:
        self.loop = loop
        self.timeout = timeout
        self.abort = abort
        self.since = loop.time()  # when the reader's current (or last) wait in recv() began
        self.waiting = False
        self.stalled = False

    async def run(self) -> None:
        period = self.timeout / 4
        while True:
            if not self.waiting:
                await asyncio.sleep(period)
                continue
            remaining = self.since + self.timeout - self.loop.time()
            if remaining > 0:
                await asyncio.sleep(remaining)
                continue
            self.stalled = True
            self.abort()
            return


class RelaySource(Source):
    """subscribeRepos from a relay (or PDS) base URL such as `wss://bsky.network` or `ws://127.0.0.1:PORT`."""

    kind = "relay"

    def __init__(self, endpoint: str, settings: Settings, *, cursor: int | None = None) -> None:
        endpoint = endpoint.rstrip("/")
        if not endpoint.startswith(("ws://", "wss://")):
            raise SourceError(f"relay endpoint must be a ws:// or wss:// base URL, not {endpoint!r}")
        super().__init__(endpoint, cursor)
        self.endpoint = endpoint
        self.max_frame_bytes = settings.max_frame_bytes
        self.websocket_max_size = 2 * settings.max_frame_bytes
        self.receive_timeout = settings.receive_timeout_seconds
        self.backoff = Backoff.from_settings(settings)
        self._skip_ahead = 0

    def url(self) -> str:
        cursor = None if self.cursor is None else self.cursor + self._skip_ahead
        return subscribe_url(self.endpoint, cursor)

    async def stream(self) -> AsyncIterator[list[Event]]:
        async for _frame, events in self.frames():
            yield events

    async def raw_frames(self) -> AsyncIterator[bytes]:
        """The raw frames (for `gitfeed capture`), with the same reconnects, cursor and dedup."""
        async for frame, _events in self.frames():
            if frame is not None:
                yield frame

    async def frames(self) -> AsyncIterator[tuple[bytes | None, list[Event]]]:
        """(raw frame, its events) forever; raw is None for a frame the websocket refused."""
        while True:
            url = self.url()
            now = False
            try:
                async for item in self._connection(url):
                    yield item
                raise Reconnect("server closed the stream")
            except Reconnect as why:
                log.info("relay %s: %s; reconnecting", self.endpoint, why)
                now = why.now
            except TimeoutError:
                self.stats.stalls += 1
                log.warning("relay %s: no frame for %.1fs; reconnecting", self.endpoint, self.receive_timeout)
            except ConnectionClosed as closed:
                self.stats.disconnects += 1
                if closed.sent is not None and closed.sent.code == CloseCode.MESSAGE_TOO_BIG:
                    yield None, [self._refused(str(closed))]
                else:
                    log.warning("relay %s: connection closed (%s); reconnecting", self.endpoint, closed)
            except InvalidURI as error:
                raise SourceError(f"bad relay URL {url}: {error}") from error
            except (OSError, InvalidHandshake, ProtocolError) as error:
                log.warning("relay %s: %s: %s; retrying", self.endpoint, type(error).__name__, error)
            if not now:
                delay = self.backoff.next_delay()
                log.info("relay %s: next attempt in %.2fs", self.endpoint, delay)
                await asyncio.sleep(delay)

    def _refused(self, detail: str) -> SkippedFrame:
        self.stats.refused += 1
        if self.cursor is not None:
            self._skip_ahead += 1
        log.warning(
            "relay %s: refused a frame over %d bytes after seq %s (%s); skipping it",
            self.endpoint,
            self.websocket_max_size,
            self.cursor,
            detail,
        )
        return SkippedFrame(cursor=None, reason="oversized", detail=f"after seq {self.cursor}: {detail}")

    async def _connection(self, url: str) -> AsyncIterator[tuple[bytes | None, list[Event]]]:
        loop = asyncio.get_running_loop()
        stats = self.stats
        async with connect(
            url,
            max_size=self.websocket_max_size,
            open_timeout=min(OPEN_TIMEOUT_SECONDS, max(self.receive_timeout, 1.0)),
            close_timeout=1.0,
            compression=None,
        ) as ws:
            self.backoff.connected()
            stats.connects += 1
            log.info("relay: connected to %s", url)
            watch = _StallWatch(loop, self.receive_timeout, ws.transport.abort)
            watchdog = asyncio.create_task(watch.run(), name="gitfeed-relay-stall-watch")
            recv = ws.recv
            max_frame_bytes = self.max_frame_bytes
            try:
                while True:
                    watch.since = loop.time()
                    watch.waiting = True
                    frame = await recv()
                    watch.waiting = False
                    stats.frames += 1
                    stats.bytes += len(frame)
                    stats.last_frame_monotonic = loop.time()
                    if isinstance(frame, str):
                        yield None, [SkippedFrame(cursor=None, reason="bad_frame", detail="text frame")]
                        continue
                    events = decode_frame(frame, max_frame_bytes=max_frame_bytes)
                    if type(events[0]) is StreamControl:
                        self._control(events[0])  # type: ignore[arg-type]
                        continue
                    seq = frame_cursor(events)  # type: ignore[arg-type]
                    if not self.accept(seq):
                        continue
                    if seq is not None:
                        self._skip_ahead = 0
                    yield frame, events  # type: ignore[misc]
            except ConnectionClosed:
                if watch.stalled:
                    raise TimeoutError(f"no frame for {self.receive_timeout}s") from None
                raise
            finally:
                watchdog.cancel()

    def _control(self, control: StreamControl) -> None:
        """React to an error frame or #info as the subscribeRepos lexicon says (see StreamControl)."""
        self.stats.controls[f"{control.kind}:{control.name}"] += 1
        text = f"{control.name}" + (f": {control.message}" if control.message else "")
        if control.kind == "info":
            if control.name == "OutdatedCursor":
                log.warning(
                    "relay %s: #info %s (events before the relay's window were missed)", self.endpoint, text
                )
            else:
                log.info("relay %s: #info %s", self.endpoint, text)
            return
        if control.name == "FutureCursor":
            log.error(
                "relay %s: FutureCursor: cursor %s is ahead of this relay; restarting at its live tip "
                "(events between are not replayable here)",
                self.endpoint,
                self.cursor,
            )
            self.cursor = None
            self._skip_ahead = 0
            raise Reconnect("FutureCursor", now=True)
        if control.name == "ConsumerTooSlow":
            log.warning(
                "relay %s: ConsumerTooSlow: the relay dropped us; resuming from %s",
                self.endpoint,
                self.cursor,
            )
        else:
            log.warning("relay %s: error frame %s", self.endpoint, text)
        raise Reconnect(f"error frame {control.name}")
