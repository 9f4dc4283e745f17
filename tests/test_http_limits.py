"""What a stranger's bytes may cost `gitfeed serve`: raw sockets against the real server on 127.0.0.1.

Bodies past FEEDGEN_MAX_BODY_BYTES are refused (413) before or while they arrive, headers past
FEEDGEN_MAX_HEADER_BYTES get 431, and a request whose headers never finish is closed (408) after
FEEDGEN_HEADER_TIMEOUT_SECONDS, so half-sent requests cannot pile up.
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

MAX_BODY = 64 * 1024
MAX_HEADER = 16 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`gitfeed serve` as an operator starts it, with small limits so the tests send little."""
    tmp = tmp_path_factory.mktemp("http-limits")
    port = _free_port()
    env = {
        **os.environ,
        "FEEDGEN_LISTENHOST": "127.0.0.1",
        "FEEDGEN_ADMIN_TOKEN": "limits-token",
        "FEEDGEN_MAX_BODY_BYTES": str(MAX_BODY),
        "FEEDGEN_MAX_HEADER_BYTES": str(MAX_HEADER),
        "FEEDGEN_HEADER_TIMEOUT_SECONDS": "1",
    }
    command = [sys.executable, "-m", "gitfeed.cli", "serve", "--db", str(tmp / "g.db"), "--port", str(port)]
    process = subprocess.Popen(command, env=env, cwd=tmp)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/xrpc/_health", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=10)


def connect(server: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(server, timeout=10)
    return sock


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """Status and everything the server sent until it closed the connection (a timeout fails)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:  # closed with our unread bytes in its buffer
        pass
    assert data.startswith(b"HTTP/1.1 "), data[:200]
    return int(data[9:12]), data


def send_until_answered(sock: socket.socket, chunks: Iterator[bytes]) -> int:
    """Send chunks until the server answers or hangs up; the bytes sent."""
    sent = 0
    for chunk in chunks:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            break
        try:
            sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    return sent


def test_a_declared_large_body_is_refused_before_it_is_sent(server: tuple[str, int]) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 200000000\r\n\r\ntoken="
        )
        status, data = read_response(sock)
    assert status == 413
    assert b"PayloadTooLarge" in data and b"connection: close" in data.lower()


@pytest.mark.parametrize("path", ["/admin/login", "/xrpc/app.bsky.feed.sendInteractions"])
def test_a_chunked_body_is_cut_off_while_it_streams(server: tuple[str, int], path: str) -> None:
    piece = b"a" * 16384
    chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
    total = 400 * len(piece)  # 6.5 MB offered, 100 times the limit
    with connect(server) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nOrigin: http://x\r\nTransfer-Encoding: chunked\r\n\r\n"
        sock.sendall(head.encode())
        sent = send_until_answered(sock, iter([chunk] * 400))
        status, _ = read_response(sock)
    # sendInteractions refuses an anonymous caller before reading; either way the rest is never read
    assert status == (413 if path.startswith("/admin") else 401)
    assert sent < total


def test_a_body_under_the_limit_is_read(server: tuple[str, int]) -> None:
    body = b"token=wrong&pad=" + b"x" * (MAX_BODY // 2)
    response = httpx.post(
        f"http://{server[0]}:{server[1]}/admin/login",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded", "origin": f"http://{server[0]}:{server[1]}"},
    )
    assert response.status_code == 401  # read whole, and the token was wrong


def test_oversized_headers_get_431(server: tuple[str, int]) -> None:
    header = b"X-Big: " + b"a" * (4 * 1024 * 1024) + b"\r\n"
    with connect(server) as sock:
        sock.sendall(b"GET /xrpc/_health HTTP/1.1\r\nHost: x\r\n")
        pieces = (header[i : i + 16384] for i in range(0, len(header), 16384))
        sent = send_until_answered(sock, pieces)
        status, _ = read_response(sock)
    assert status == 431
    assert sent < len(header)


def test_half_sent_requests_are_closed(server: tuple[str, int]) -> None:
    """Headers that never finish: each connection is answered 408 and closed, so none can pile up."""
    socks = [connect(server) for _ in range(50)]
    try:
        for sock in socks:
            sock.sendall(b"GET /xrpc/_health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for sock in socks:
            status, _ = read_response(sock)
            assert status == 408
        # and the server still answers everyone else
        assert httpx.get(f"http://{server[0]}:{server[1]}/xrpc/_health").status_code == 200
    finally:
        for sock in socks:
            sock.close()


def test_silent_connections_are_closed(server: tuple[str, int]) -> None:
    with connect(server) as sock:
        status, _ = read_response(sock)
    assert status == 408


def test_kept_alive_and_pipelined_requests_still_work(server: tuple[str, int]) -> None:
    request = b"GET /xrpc/_health HTTP/1.1\r\nHost: x\r\n\r\n"
    end_of_body = b'"ml"]}'  # each health answer ends with the feed list

    def answers(sock: socket.socket, count: int) -> bytes:
        data = b""
        while data.count(end_of_body) < count:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        return data

    with connect(server) as sock:
        sock.sendall(request * 3)
        first = answers(sock, 3)
        sock.sendall(request)  # a second round on the same connection, after the first was answered
        second = answers(sock, 1)
    assert first.count(b"HTTP/1.1 200") == 3 and second.startswith(b"HTTP/1.1 200")


@pytest.mark.parametrize("size", [MAX_HEADER - 2048, 1024])
def test_headers_under_the_limit_are_served(server: tuple[str, int], size: int) -> None:
    response = httpx.get(f"http://{server[0]}:{server[1]}/xrpc/_health", headers={"x-pad": "a" * size})
    assert response.status_code == 200
