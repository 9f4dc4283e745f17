"""The HTTP edge: what a stranger's bytes may cost before any route runs.

Three bounds, each enforced while the bytes arrive, never after reading them whole:

- request headers: at most `FEEDGEN_MAX_HEADER_BYTES` (request line and headers together), else
  431 and the connection closed; httptools buffers a header until it ends, so the count is kept here,
  per chunk received, before the parser is fed more;
- the time to send them: `FEEDGEN_HEADER_TIMEOUT_SECONDS` from the connection (or the first byte of
  the next request on a kept-alive one) to the end of the headers, else 408 and closed, so half-sent
  requests cannot hold file descriptors;
- request bodies: at most `FEEDGEN_MAX_BODY_BYTES`, refused from `Content-Length` before anything is
  read, and counted while a chunked body streams in (`BodyLimit`): 413 and the connection closed.

`gitfeed serve` and `gitfeed run` start uvicorn through `server_options`, so these hold wherever
gitfeed serves.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from firehose.settings import Settings


def _refusal(status: bytes, message: str) -> bytes:
    body = orjson.dumps({"error": "InvalidRequest", "message": message})
    return (
        b"HTTP/1.1 " + status + b"\r\ncontent-type: application/json\r\nconnection: close\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size limit and a header-read timeout."""

    max_header_bytes = 64 * 1024
    header_timeout_seconds = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._in_headers = True
        self._header_bytes = 0
        self._header_timer: asyncio.TimerHandle | None = None
        self._refused = False
        super().connection_made(transport)
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout_seconds, self._header_timed_out)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _refuse(self, status: bytes, message: str) -> None:
        self._refused = True
        self._disarm_header_timer()
        if not self.transport.is_closing():
            self.transport.write(_refusal(status, message))
            self.transport.close()

    def _header_timed_out(self) -> None:
        self._header_timer = None
        if self._in_headers and not self._refused:
            message = f"headers not received within {self.header_timeout_seconds} s"
            self._refuse(b"408 Request Timeout", message)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        counting = self._in_headers
        if counting:
            self._header_bytes += len(data)
        super().data_received(data)
        # Headers still unfinished after this chunk: everything since the request began is header.
        if counting and self._in_headers and self._header_bytes > self.max_header_bytes:
            self._refuse(
                b"431 Request Header Fields Too Large",
                f"request headers are larger than {self.max_header_bytes} bytes",
            )

    def on_message_begin(self) -> None:
        self._in_headers = True
        self._arm_header_timer()
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._in_headers = False
        self._header_bytes = 0
        self._disarm_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_headers = True  # what follows is the next request's headers
        self._header_bytes = 0
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)


def bounded_protocol(settings: Settings) -> type[BoundedHttpToolsProtocol]:
    """The protocol class with this configuration's limits (uvicorn instantiates it per connection)."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {
            "max_header_bytes": settings.max_header_bytes,
            "header_timeout_seconds": settings.header_timeout_seconds,
        },
    )


class BodyTooLargeError(Exception):
    """The request body passed the limit while it was being received."""


class BodyLimit:
    """Pure ASGI middleware: 413 for a body over `max_bytes`, decided before or while it is read."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 - ASGI
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_bytes:
                    await self._too_large(send)
                    return
                has_body = has_body or int(value) > 0
            elif name == b"transfer-encoding":
                has_body = True
        received = 0
        body_done = not has_body
        started = False

        async def counted_receive() -> dict:
            nonlocal received, body_done
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError
                body_done = body_done or not message.get("more_body", False)
            return message

        async def tracked_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if not body_done:
                    # Answered without reading the body (a 401, a 404): close rather than read the
                    # rest of it only to throw it away.
                    message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLargeError:
            if started:
                raise
            await self._too_large(send)

    async def _too_large(self, send) -> None:  # noqa: ANN001 - ASGI
        body = orjson.dumps(
            {"error": "PayloadTooLarge", "message": f"request body is larger than {self.max_bytes} bytes"}
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),  # the rest of the body is never read
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def server_options(settings: Settings) -> dict[str, Any]:
    """What `gitfeed serve` passes to `uvicorn.run`: uvloop, the bounded httptools protocol, one worker."""
    return {
        "host": settings.listenhost,
        "port": settings.port,
        "loop": "uvloop",
        "http": bounded_protocol(settings),
        "workers": 1,
        "access_log": False,
        "log_level": "warning",
    }
