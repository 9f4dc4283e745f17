"""A local relay process: serves subscribeRepos from a capture at a set pace, with fault controls.

    python -m scripts.soaklib.relay --capture FILE --port 0 --ready-file F [pace flags] [--t0 EPOCH]

Seq s exists once the pace has produced it (`Pace.head(now - t0)`); a connection gets every seq
after its `?cursor=` (no cursor: from seq 1, the start of this relay's window) as fast as it reads,
then live. Sending awaits the socket's drain, so a slow consumer slows only itself.

Control over plain HTTP on the same port (the soak harness's fault injector uses these):
  GET /status                  {"head", "t0", "connections", "sent", "malformed_sent", "frozen", ...}
  GET /control/drop            reset every connection (TCP RST, no close frame)
  GET /control/malformed?n=N   send N malformed frames (no seq) to every connection, between real ones
  GET /control/freeze          stop producing: head stays where it is (the end of a run)
A stall is SIGSTOP/SIGCONT of this process; a restart from an older cursor is a new process with
the same --t0 and `--rewind R`: connections in its first --rewind-window seconds get R seqs they had.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import struct
import time
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import libipld
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response
from websockets.protocol import State

from scripts.soaklib.pace import Pace
from scripts.soaklib.stream import ServedStream

PATH = "/xrpc/com.atproto.sync.subscribeRepos"
SEND_CHUNK = 256  # frames sent before yielding to the loop (status requests, other connections)
# A live connection wakes at most this often and takes every frame due since: 10 frames a write at
# 2,000/s rather than one, and 5 ms of delivery delay against lags measured in seconds.
SEND_TICK = 0.005


def malformed_frames(n: int, sample: bytes, seed: int = 0) -> list[bytes | str]:
    """`n` frames a decoder must skip without moving the cursor: none of them carries a seq."""
    rng = random.Random(seed)
    enc = libipld.encode_dag_cbor
    kinds = [
        lambda: rng.randbytes(rng.randint(1, 300)),
        lambda: sample[: rng.randint(1, max(1, len(sample) - 1))],  # truncated
        lambda: enc({"op": 1, "t": "#commit"}),  # header only
        lambda: enc({"op": 1, "t": "#commit"}) + enc({"repo": "did:plc:x", "ops": []}),  # no seq
        lambda: enc({"op": 7}) + enc({}),  # unknown op
        lambda: enc([1, 2, 3]) + enc("x"),  # not maps
        lambda: "a text frame",
    ]
    return [kinds[i % len(kinds)]() for i in range(n)]


class Relay:
    def __init__(
        self, stream: ServedStream, pace: Pace, t0: float, rewind: int, rewind_window: float
    ) -> None:
        self.stream = stream
        self.pace = pace
        self.t0 = t0
        self.rewind = rewind
        self.rewind_until = time.time() + rewind_window
        self.frozen_head: int | None = None
        self.connections: dict[ServerConnection, list[bytes | str]] = {}
        self.cursors: list[int | None] = []
        self.sent = 0
        self.malformed_sent = 0

    def head(self) -> int:
        if self.frozen_head is not None:
            return self.frozen_head
        return self.pace.head(time.time() - self.t0)

    def status(self) -> dict:
        return {
            "head": self.head(),
            "t0": self.t0,
            "frozen": self.frozen_head is not None,
            "connections": len(self.connections),
            "connects": len(self.cursors),
            "cursors": self.cursors[-10:],
            "sent": self.sent,
            "malformed_sent": self.malformed_sent,
            "pid": os.getpid(),
        }

    def route(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        query = parse_qs(url.query)
        if url.path == PATH:
            return None
        if url.path == "/status":
            pass
        elif url.path == "/control/drop":
            for ws in list(self.connections):
                sock = ws.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                ws.transport.abort()
        elif url.path == "/control/malformed":
            n = int(query.get("n", ["100"])[0])
            sample = self.stream.frame(max(1, min(self.head(), self.stream.n)))
            for pending in self.connections.values():
                pending.extend(malformed_frames(n, sample, seed=self.malformed_sent))
        elif url.path == "/control/freeze":
            self.frozen_head = self.head()
        else:
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        response = connection.respond(HTTPStatus.OK, json.dumps(self.status()) + "\n")
        response.headers["Content-Type"] = "application/json"
        return response

    async def handle(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path).query)  # type: ignore[union-attr]
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        self.cursors.append(cursor)
        seq = (cursor or 0) + 1
        if self.rewind and time.time() < self.rewind_until:
            seq = max(1, seq - self.rewind)
        pending: list[bytes | str] = []
        self.connections[ws] = pending
        try:
            while True:
                head = self.head()
                if seq > head:
                    if pending:
                        await self._flush(ws, pending)
                        continue
                    wait = self.pace.time_of(seq) - (time.time() - self.t0)
                    await asyncio.sleep(min(0.05, max(SEND_TICK, wait)) if self.frozen_head is None else 0.05)
                    continue
                if pending:
                    await self._flush(ws, pending)
                end = min(head, seq + SEND_CHUNK - 1)
                await self._send_batch(ws, [self.stream.frame(s) for s in range(seq, end + 1)])
                self.sent += end + 1 - seq
                seq = end + 1
                await asyncio.sleep(0)
        except Exception:  # noqa: BLE001 - a dropped or reset consumer: its connection is over
            pass
        finally:
            self.connections.pop(ws, None)

    @staticmethod
    async def _send_batch(ws: ServerConnection, frames: list[bytes]) -> None:
        """Frames due together, framed by the websocket protocol and written in one `transport.write`.

        Why not `ws.send` per frame: that is a socket write per frame, and on loopback each write runs
        the receiver's TCP path too; at 20,000 frames/s those writes took half of this process's CPU,
        which the soak then took away from the server it measures. A network relay's frames reach a
        consumer coalesced into segments the same way.
        """
        if ws.protocol.state is not State.OPEN:
            await ws.send(frames[0])  # raises ConnectionClosed, as a send on a closed connection does
            return
        for frame in frames:
            ws.protocol.send_binary(frame)
        ws.transport.write(b"".join(ws.protocol.data_to_send()))
        await ws.drain()

    async def _flush(self, ws: ServerConnection, pending: list[bytes | str]) -> None:
        while pending:
            await ws.send(pending.pop(0))
            self.malformed_sent += 1


async def main_async(args: argparse.Namespace) -> None:
    stream = ServedStream.from_capture(args.capture)
    pace = Pace(args.rate, args.burst_factor, args.burst_seconds, args.burst_every, args.burst_at, args.limit)
    t0 = args.t0 if args.t0 is not None else time.time()
    relay = Relay(stream, pace, t0, args.rewind, args.rewind_window)
    server = await serve(
        relay.handle,
        args.host,
        args.port,
        process_request=relay.route,
        max_size=None,
        compression=None,
        ping_interval=20,
        ping_timeout=60,
    )
    port = server.sockets[0].getsockname()[1]
    ready = {"port": port, "pid": os.getpid(), "t0": t0, "frames": stream.n}
    if args.ready_file:
        tmp = Path(str(args.ready_file) + ".tmp")
        tmp.write_text(json.dumps(ready))
        tmp.replace(args.ready_file)
    print(json.dumps(ready), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.wait_closed(), 2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--capture", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--t0", type=float, help="epoch seconds when seq 1 was produced (default: now)")
    parser.add_argument("--rate", type=float, default=2000.0, help="events/s; 0: everything at once")
    parser.add_argument("--burst-factor", type=float, default=10.0)
    parser.add_argument("--burst-seconds", type=float, default=10.0)
    parser.add_argument("--burst-every", type=float, default=60.0)
    parser.add_argument("--burst-at", type=float, default=20.0)
    parser.add_argument("--limit", type=int, help="the last seq ever produced")
    parser.add_argument("--rewind", type=int, default=0, help="serve this many seqs before each cursor")
    parser.add_argument("--rewind-window", type=float, default=30.0)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main_async(parse_args()))
