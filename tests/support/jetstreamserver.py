"""A real local Jetstream v2 for tests: a `websockets` server on 127.0.0.1:0 speaking
`network.bsky.jetstream.subscribeEvents` (subprotocol xrpc.v1.json) and serving
`getZstdDictionary` over plain HTTP on the same port, as the real one does.

Like tests/relayserver.py: it serves a log of messages by `seq` (inclusive from `?cursor=`, as
Jetstream v2 does), honours the `collections` filter for commits, sends `#info FutureCursor` /
`#info OutdatedCursor` for a cursor past / before its log, compresses with its dictionary when the
client asks for it by id, and lets the first connection act out a scenario (normal,
abnormal_close, stall, garbage, consumer_too_slow, error_frame, rotate_dictionary). Like the real
one it refuses a handshake before the upgrade with an XRPC error body: `UnknownZstdDictionary` for
an id that is not its current dictionary's (or for any id, `refuse_dictionary`), `CursorTooOld`
for a cursor below `floor`, and 503 for the first `unavailable` attempts. Each connection's query
params are recorded in `params`, each refused handshake's in `refused`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import zstandard
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

NSID = "network.bsky.jetstream.subscribeEvents"
SUBSCRIBE = f"/xrpc/{NSID}"
DICTIONARY = "/xrpc/network.bsky.jetstream.getZstdDictionary"
TIME = "2026-07-04T14:38:07.877123Z"


def commit_message(
    seq: int,
    did: str,
    collection: str,
    rkey: str,
    record: dict[str, Any] | None = None,
    *,
    operation: str = "create",
    cid: str | None = None,
) -> dict[str, Any]:
    from tests.support import framegen as fg

    payload: dict[str, Any] = {
        "$type": f"{NSID}#commit",
        "seq": seq,
        "did": did,
        "time": TIME,
        "collection": collection,
        "operation": operation,
        "rkey": rkey,
        "rev": fg.tid(1_783_175_888_000_000 + seq),
    }
    if record is not None:
        payload["record"] = record
        payload["cid"] = cid or fg.record_cid(record)
    return payload


def account_message(seq: int, did: str, active: bool, status: str | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"did": did, "active": active, "seq": 1000 + seq, "time": TIME[:23] + "Z"}
    if status is not None:
        inner["status"] = status
    return {"$type": f"{NSID}#account", "seq": seq, "did": did, "time": TIME, "account": inner}


def identity_message(seq: int, did: str, handle: str | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"did": did, "seq": 1000 + seq, "time": TIME[:23] + "Z"}
    if handle is not None:
        inner["handle"] = handle
    return {"$type": f"{NSID}#identity", "seq": seq, "did": did, "time": TIME, "identity": inner}


def from_v1(line: str, seq: int) -> dict[str, Any]:
    """A line of production Jetstream v1 output (expected_v1.jsonl) -> the same event on the v2 wire."""
    event = json.loads(line)
    kind = event["kind"]
    if kind == "commit":
        return {"$type": f"{NSID}#commit", "seq": seq, "did": event["did"], "time": TIME, **event["commit"]}
    return {"$type": f"{NSID}#{kind}", "seq": seq, "did": event["did"], "time": TIME, kind: event[kind]}


def message_frame(payload: dict[str, Any]) -> str:
    return json.dumps({"$type": "message", "payload": payload}, separators=(",", ":"))


def train_dictionary(payloads: Sequence[dict[str, Any]], dict_id: int = 0) -> zstandard.ZstdCompressionDict:
    """A real zstd dictionary trained on the messages (as the server's is trained on live traffic)."""
    samples = [message_frame(p).encode() for p in payloads]
    samples = (samples * (1 + 2000 // max(1, len(samples))))[:2000]
    return zstandard.train_dictionary(4096, samples, dict_id=dict_id)


@dataclass
class JetstreamServer:
    messages: Sequence[dict[str, Any]]
    scenario: str = "normal"
    after: int = 3
    compression: bool = True
    floor: int | None = None
    refuse_dictionary: bool = False
    unavailable: int = 0
    params: list[dict[str, list[str]]] = field(default_factory=list)
    refused: list[dict[str, list[str]]] = field(default_factory=list)
    dictionary_fetches: int = 0
    _server: Server | None = None
    _dict: zstandard.ZstdCompressionDict | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"ws://{host}:{port}"

    @property
    def cursors(self) -> list[int | None]:
        return [int(p["cursor"][0]) if "cursor" in p else None for p in self.params]

    async def __aenter__(self) -> JetstreamServer:
        if self.compression:
            self._dict = train_dictionary(self.messages)
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            0,
            process_request=self._route,
            subprotocols=["xrpc.v1.json"],
            max_size=None,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == DICTIONARY and self._dict is not None:
            self.dictionary_fetches += 1
            body = self._dict.as_bytes()
            headers = Headers(
                [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(body)))]
            )
            return Response(200, "OK", headers, body)
        if path != SUBSCRIBE:
            return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
        params = parse_qs(urlsplit(request.path).query)
        refusal = self._refusal(params)
        if refusal is None:
            return None
        self.refused.append(params)
        status, error = refusal
        body = json.dumps({"error": error, "message": f"refused: {error}"}).encode()
        headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return Response(status.value, status.phrase, headers, body)

    def _refusal(self, params: dict[str, list[str]]) -> tuple[HTTPStatus, str] | None:
        if self.unavailable > 0:
            self.unavailable -= 1
            return HTTPStatus.SERVICE_UNAVAILABLE, "Unavailable"
        asked = params.get("zstdDictionary")
        if asked and (self.refuse_dictionary or self._dict is None or asked != [str(self._dict.dict_id())]):
            return HTTPStatus.BAD_REQUEST, "UnknownZstdDictionary"
        if self.floor is not None and "cursor" in params and int(params["cursor"][0]) < self.floor:
            return HTTPStatus.BAD_REQUEST, "CursorTooOld"
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        params = parse_qs(urlsplit(ws.request.path).query)  # type: ignore[union-attr]
        index = len(self.params)
        self.params.append(params)
        compressor = None
        if self._dict is not None and params.get("zstdDictionary") == [str(self._dict.dict_id())]:
            compressor = zstandard.ZstdCompressor(dict_data=self._dict)
        collections = set(params.get("collections", []))

        async def send(payload: dict[str, Any]) -> None:
            text = message_frame(payload)
            await ws.send(compressor.compress(text.encode()) if compressor else text)

        cursor = int(params["cursor"][0]) if "cursor" in params else None
        seqs = [m["seq"] for m in self.messages]
        todo = list(self.messages)
        if cursor is not None and seqs and cursor > max(seqs) + 1:
            await send(
                {"$type": f"{NSID}#info", "name": "FutureCursor", "message": "starting at the live tip"}
            )
        elif cursor is not None:
            if seqs and cursor < min(seqs):
                await send(
                    {"$type": f"{NSID}#info", "name": "OutdatedCursor", "message": f"from {min(seqs)}"}
                )
            todo = [m for m in self.messages if m["seq"] >= cursor]
        if collections:
            todo = [m for m in todo if not m["$type"].endswith("#commit") or m["collection"] in collections]
        acting = index == 0 and self.scenario != "normal"
        for n, payload in enumerate(todo):
            if acting and n == self.after and await self._act(ws):
                return
            await send(payload)
        await ws.wait_closed()

    async def _act(self, ws: ServerConnection) -> bool:
        """The scenario; True when the connection is over."""
        if self.scenario == "abnormal_close":
            ws.transport.close()
            return True
        if self.scenario == "rotate_dictionary":  # retrain (a new id), then drop every consumer
            assert self._dict is not None
            self._dict = train_dictionary(self.messages, dict_id=self._dict.dict_id() + 1)
            ws.transport.close()
            return True
        if self.scenario == "stall":
            await ws.wait_closed()
            return True
        if self.scenario == "garbage":
            await ws.send("{not json")
            await ws.send(json.dumps({"$type": "message", "payload": {"$type": f"{NSID}#commit"}}))
            return False
        name = {"consumer_too_slow": "ConsumerTooSlow", "error_frame": "SomethingBroke"}[self.scenario]
        await ws.send(json.dumps({"$type": "error", "error": name, "message": "bye"}))
        await ws.close()
        return True
