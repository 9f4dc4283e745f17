"""The relay firehose: `com.atproto.sync.subscribeRepos` over a websocket, resumable and stall-proof.

Two kinds of failure (STYLE 4): a connection that fails, drops or goes silent for
`receive_timeout_seconds` reconnects with capped, jittered backoff from `cursor` (the loop and the
stall watch are `sources.websocket:WebsocketSource`'s, shared with Jetstream); a frame that will not
decode is a `SkippedFrame` (counted downstream) and the stream carries on.

Why the websocket's own `max_size` is twice `max_frame_bytes`: a frame between the two is read and
then skipped by the decoder without dropping the connection. A frame over the websocket's limit is
refused before it is read (websockets closes with 1009), so it is counted as skipped here and the
next connection asks for `cursor + 1`: the refused frame was the first one after `cursor` (the
relay sends in seq order), so this skips it, or a seq that does not exist, and never a real frame
we have not seen. Otherwise the relay would send the same giant frame on every reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from firehose.decode.relay import StreamControl, decode_frame
from firehose.events import Event, SkippedFrame
from firehose.sources.base import frame_cursor
from firehose.sources.websocket import Reconnect, WebsocketSource

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)

SUBSCRIBE_REPOS = "/xrpc/com.atproto.sync.subscribeRepos"


def subscribe_url(endpoint: str, cursor: int | None) -> str:
    """`wss://bsky.network` + cursor -> the subscribeRepos URL."""
    url = endpoint.rstrip("/") + SUBSCRIBE_REPOS
    return url + "?" + urlencode({"cursor": cursor}) if cursor is not None else url


class RelaySource(WebsocketSource[tuple[bytes | None, list[Event]]]):
    """subscribeRepos from a relay (or PDS) base URL such as `wss://bsky.network` or `ws://127.0.0.1:PORT`."""

    kind = "relay"

    def __init__(self, endpoint: str, settings: Settings, *, cursor: int | None = None) -> None:
        super().__init__(endpoint, settings, cursor)
        self.max_frame_bytes = settings.max_frame_bytes
        self.websocket_max_size = 2 * settings.max_frame_bytes
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

    def frames(self) -> AsyncIterator[tuple[bytes | None, list[Event]]]:
        """(raw frame, its events) forever; raw is None for a frame the websocket refused."""
        return self.items()

    def closed(self, closed: ConnectionClosed) -> tuple[bytes | None, list[Event]] | None:
        if closed.sent is not None and closed.sent.code == CloseCode.MESSAGE_TOO_BIG:
            return None, [self._refused(str(closed))]
        return super().closed(closed)

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

    async def connection(self, url: str) -> AsyncIterator[tuple[bytes | None, list[Event]]]:
        max_frame_bytes = self.max_frame_bytes
        async with self.open(url, max_size=self.websocket_max_size, compression=None) as recv:
            while True:
                frame = await recv()
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
