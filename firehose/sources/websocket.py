"""What every websocket source does alike: dial, notice a silent stall, reconnect with backoff.

Two kinds of failure (STYLE 4): a connection that fails, drops or goes silent for
`receive_timeout_seconds` reconnects with capped, jittered backoff (`sources.backoff:Backoff`) from
the source's `cursor`, the backoff counted from when the failed dial began (a handshake that hung for
its whole open timeout has already waited, so a relay that was frozen is redialed at once, with a dial
in flight when it wakes, not a sleep); a frame that will not decode is the subclass's business (a
`SkippedFrame`), never a reconnect. A subclass says where to dial (`url`), what to do before dialing
(`before_connect`), and reads one connection (`connection`, through `open` here); it may also say
what a refused handshake (`rejected`) or a dropped connection (`closed`) means for it.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI, ProtocolError

from firehose.sources.backoff import Backoff
from firehose.sources.base import Source, SourceError

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)

OPEN_TIMEOUT_SECONDS = 10.0

Item = TypeVar("Item")
Receive = Callable[[], Awaitable[str | bytes]]


class Reconnect(Exception):  # noqa: N818 - a signal, not an error
    """Leave the current connection and dial again (after backoff unless `now`)."""

    def __init__(self, why: str, *, now: bool = False) -> None:
        super().__init__(why)
        self.now = now


class StallWatch:
    """Notices a connection that has gone silent: the reader waiting in `recv()` for `timeout` seconds.

    Why not `asyncio.timeout` around each `recv()`: rescheduling its timer twice a frame cost more
    than a tenth of the relay source's CPU. The reader sets two plain attributes per frame instead,
    and this task wakes when the current wait would expire (or every timeout/4 while the reader is
    away, e.g. blocked on a full ingest buffer, which is not a stall). On a stall it aborts the
    transport, so `recv()` raises ConnectionClosed, which `WebsocketSource.open` turns into the
    TimeoutError the reconnect loop counts as a stall.
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


class WebsocketSource(Source, Generic[Item]):
    """A source read from a websocket that it redials forever; `items()` yields what `connection` yields."""

    def __init__(self, endpoint: str, settings: Settings, cursor: int | None = None) -> None:
        endpoint = endpoint.rstrip("/")
        if not endpoint.startswith(("ws://", "wss://")):
            raise SourceError(f"{self.kind} endpoint must be a ws:// or wss:// base URL, not {endpoint!r}")
        super().__init__(endpoint, cursor)
        self.endpoint = endpoint
        self.receive_timeout = settings.receive_timeout_seconds
        self.backoff = Backoff.from_settings(settings)
        self._opened = False  # the current dial got through its handshake

    @abc.abstractmethod
    def url(self) -> str:
        """Where the next connection dials (it resumes from `self.cursor`)."""

    async def before_connect(self) -> None:
        """Called before every dial, reconnects included."""

    @abc.abstractmethod
    def connection(self, url: str) -> AsyncIterator[Item]:
        """One connection's items, read through `self.open(url, ...)`; raise Reconnect to leave it."""

    def rejected(self, error: InvalidStatus) -> None:
        """The server refused the handshake: retry with backoff, or raise SourceError if it never will."""
        log.warning("%s %s: %s; retrying", self.kind, self.endpoint, error)

    def closed(self, closed: ConnectionClosed) -> Item | None:
        """The connection dropped (already counted): an item to hand out about it, or None."""
        log.warning("%s %s: connection closed (%s); reconnecting", self.kind, self.endpoint, closed)
        return None

    async def items(self) -> AsyncIterator[Item]:
        """Each connection's items, forever, with a backoff between connections."""
        loop = asyncio.get_running_loop()
        while True:
            now = False
            url = ""
            dialed = loop.time()
            self._opened = False
            try:
                await self.before_connect()
                url = self.url()
                async for item in self.connection(url):
                    yield item
                raise Reconnect("server closed the stream")
            except Reconnect as why:
                log.info("%s %s: %s; reconnecting", self.kind, self.endpoint, why)
                now = why.now
            except TimeoutError:
                self.stats.stalls += 1
                log.warning(
                    "%s %s: no frame for %.1fs; reconnecting", self.kind, self.endpoint, self.receive_timeout
                )
            except ConnectionClosed as closed:
                self.stats.disconnects += 1
                item = self.closed(closed)
                if item is not None:
                    yield item
            except InvalidURI as error:
                raise SourceError(f"bad {self.kind} URL {url}: {error}") from error
            except InvalidStatus as error:
                self.rejected(error)
            except (OSError, InvalidHandshake, ProtocolError) as error:
                log.warning("%s %s: %s: %s; retrying", self.kind, self.endpoint, type(error).__name__, error)
            if not now:
                delay = self.backoff.next_delay()
                if not self._opened:  # the failed dial's own wait counts toward the backoff
                    delay = max(0.0, delay - (loop.time() - dialed))
                log.info("%s %s: next attempt in %.2fs", self.kind, self.endpoint, delay)
                await asyncio.sleep(delay)

    @contextlib.asynccontextmanager
    async def open(self, url: str, **connect_options: Any) -> AsyncIterator[Receive]:
        """Dial `url` and hand out its `recv`: it counts each frame, and a stall ends it as TimeoutError."""
        loop = asyncio.get_running_loop()
        stats = self.stats
        async with connect(
            url,
            open_timeout=min(OPEN_TIMEOUT_SECONDS, max(self.receive_timeout, 1.0)),
            close_timeout=1.0,
            **connect_options,
        ) as ws:
            self._opened = True
            self.backoff.connected()
            stats.connects += 1
            log.info("%s: connected to %s", self.kind, url)
            watch = StallWatch(loop, self.receive_timeout, ws.transport.abort)
            watchdog = asyncio.create_task(watch.run(), name=f"gitfeed-{self.kind}-stall-watch")
            ws_recv = ws.recv

            async def recv() -> str | bytes:
                watch.since = loop.time()
                watch.waiting = True
                frame = await ws_recv()
                watch.waiting = False
                stats.frames += 1
                stats.bytes += len(frame)
                stats.last_frame_monotonic = loop.time()
                return frame

            try:
                yield recv
            except ConnectionClosed:
                if watch.stalled:
                    raise TimeoutError(f"no frame for {self.receive_timeout}s") from None
                raise
            finally:
                watchdog.cancel()
