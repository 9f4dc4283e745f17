"""A real local relay for tests: a `websockets` server on 127.0.0.1:0 serving subscribeRepos.

It serves a log of real encoded frames (tests/framegen.py) the way a relay does: each connection
gets the frames with seq > its `?cursor=`, in order; a cursor past the newest seq gets a
FutureCursor error frame; a cursor older than the log gets `#info OutdatedCursor` first. The
first connection misbehaves as the named scenario says; later ones behave, so a client that
recovers can be seen recovering. Every connection's requested cursor is recorded in `cursors`.

Scenarios: normal, abnormal_close (TCP FIN without a close frame), reset (TCP RST), error_close
(close code 1011), garbage (junk binary + a text frame between frames), stall (goes silent),
consumer_too_slow (error frame ConsumerTooSlow, then close), error_frame (any other error name).
An oversized frame is just a frame of the log (see `big_post_frame`): the relay sends it on every
connection that asks for it, as a real one would.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import libipld
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from tests.support import framegen as fg

PATH = "/xrpc/com.atproto.sync.subscribeRepos"


def frame_seq(frame: bytes) -> int | None:
    try:
        parts = libipld.decode_dag_cbor_multi(frame)
    except ValueError:
        return None
    body = parts[1] if len(parts) == 2 and isinstance(parts[1], dict) else {}
    return body.get("seq") if isinstance(body.get("seq"), int) else None


def big_post_frame(seq: int, size: int, did: str = "did:plc:bigbigbigbigbigbig") -> bytes:
    """A real commit frame of about `size` bytes (one post with a large extra field, so it validates)."""
    filler = "x" * size
    return fg.commit_frame(seq, did, [fg.post_op(fg.tid(seq), "a big one", filler=filler)], mst_depth=1)


@dataclass
class RelayServer:
    """Serve `frames` (real encoded frames, ascending seq) with the first connection acting out `scenario`.

    `after`: how many frames the misbehaving connection sends before misbehaving.
    `special`: the junk the garbage scenario sends (default: bytes that are not CBOR).
    """

    frames: Sequence[bytes]
    scenario: str = "normal"
    after: int = 3
    special: bytes | None = None
    error_name: str = "SomethingBroke"
    cursors: list[int | None] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # frames sent per connection
    _server: Server | None = None

    def __post_init__(self) -> None:
        self._log = [(frame_seq(frame), frame) for frame in self.frames]

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"ws://{host}:{port}"

    @property
    def connections(self) -> int:
        return len(self.cursors)

    async def __aenter__(self) -> RelayServer:
        self._server = await serve(self._handle, "127.0.0.1", 0, process_request=self._route, max_size=None)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        if urlsplit(request.path).path != PATH:
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)  # type: ignore[union-attr]
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        index = len(self.cursors)
        self.cursors.append(cursor)
        self.sent.append(0)
        newest = max((seq for seq, _ in self._log if seq is not None), default=0)
        oldest = min((seq for seq, _ in self._log if seq is not None), default=0)
        if cursor is not None and cursor > newest:
            await ws.send(fg.error_frame("FutureCursor", f"cursor {cursor} is ahead of {newest}"))
            await ws.close()
            return
        if cursor is not None and cursor < oldest - 1:
            await ws.send(fg.info_frame("OutdatedCursor", f"oldest is {oldest}"))
        todo = []
        previous = 0  # a frame without a seq (junk) sits right after the frame before it
        for seq, frame in self._log:
            if cursor is None or (seq > cursor if seq is not None else previous >= cursor):
                todo.append(frame)
            previous = seq if seq is not None else previous
        act: Callable[[ServerConnection], Awaitable[bool]] | None = None
        if index == 0 and self.scenario != "normal":
            act = SCENARIOS[self.scenario].__get__(self)
        for n, frame in enumerate(todo):
            if act is not None and n == self.after and await act(ws):
                return
            await ws.send(frame)
            self.sent[index] += 1
        if act is not None and len(todo) <= self.after and await act(ws):
            return
        await ws.wait_closed()  # a live relay with nothing new: stay connected and quiet

    # Each scenario returns True when the connection is over.
    async def _abnormal_close(self, ws: ServerConnection) -> bool:
        ws.transport.close()
        return True

    async def _reset(self, ws: ServerConnection) -> bool:
        sock = ws.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ws.transport.abort()
        return True

    async def _error_close(self, ws: ServerConnection) -> bool:
        await ws.close(code=1011, reason="internal error")
        return True

    async def _garbage(self, ws: ServerConnection) -> bool:
        await ws.send(self.special or b"\xff\xfe garbage \x00\x01")
        await ws.send("a text frame")
        return False

    async def _stall(self, ws: ServerConnection) -> bool:
        await ws.wait_closed()  # silent, but the TCP connection stays up
        return True

    async def _consumer_too_slow(self, ws: ServerConnection) -> bool:
        await ws.send(fg.error_frame("ConsumerTooSlow", "you are too slow"))
        await ws.close()
        return True

    async def _error_frame(self, ws: ServerConnection) -> bool:
        await ws.send(fg.error_frame(self.error_name, "something broke"))
        await ws.close()
        return True


SCENARIOS: dict[str, Callable[..., Awaitable[bool]]] = {
    "abnormal_close": RelayServer._abnormal_close,
    "reset": RelayServer._reset,
    "error_close": RelayServer._error_close,
    "garbage": RelayServer._garbage,
    "stall": RelayServer._stall,
    "consumer_too_slow": RelayServer._consumer_too_slow,
    "error_frame": RelayServer._error_frame,
}
