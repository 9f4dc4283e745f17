"""Real `gitfeed serve` processes on loopback ports, for the tests and benchmarks of several servers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.postgres import free_port
from tests.support.seed import PUBLISHER, feed_at

REPO = Path(__file__).resolve().parents[2]
SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"


class FeedServer:
    """One `gitfeed serve --db URL` subprocess; `env` adds FEEDGEN_* settings."""

    def __init__(self, db: str, env: dict[str, str] | None = None, *, log: Path | None = None) -> None:
        self.db = db
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environ = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "FEEDGEN_PUBLISHER_DID": PUBLISHER,
            "FEEDGEN_HOSTNAME": "feed.example.com",
            "FEEDGEN_LISTENHOST": "127.0.0.1",
            "FEEDGEN_AUTH_MODE": "off",
            "FEEDGEN_PLC_URL": "http://127.0.0.1:9",
            **(env or {}),
        }
        argv = [sys.executable, "-m", "gitfeed.cli", "serve", "--db", db, "--port", str(self.port)]
        argv.append("--no-log-requests")
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(argv, cwd=REPO, env=environ, stdout=out, stderr=subprocess.STDOUT)
        self.client = httpx.Client(base_url=self.base, timeout=10)

    def health(self) -> dict | None:
        try:
            return self.client.get("/xrpc/_health").json()
        except (httpx.TransportError, ValueError):
            return None

    def wait_ready(self, timeout: float = 60.0) -> dict:
        """Until the server answers and holds a snapshot of every feed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gitfeed serve on {self.port} exited with {self.proc.returncode}")
            body = self.health()
            if body and len(body.get("cluster", {}).get("snapshots", {})) == 4:
                return body
            time.sleep(0.2)
        raise TimeoutError(f"gitfeed serve on {self.port} not ready after {timeout}s: {self.health()}")

    def ranks(self) -> bool:
        body = self.health()
        return bool(body and body.get("cluster", {}).get("ranks"))

    def page(self, feed: str, limit: int = 50, cursor: str | None = None) -> httpx.Response:
        params = {"feed": feed_at(feed), "limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self.client.get(SKELETON, params=params)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.client.close()


def stop_servers(servers: list[FeedServer]) -> None:
    """SIGTERM to all at once, then wait for each."""
    for server in servers:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGTERM)
    for server in servers:
        server.stop()


def start_servers(db: str, count: int, env: dict[str, str] | None = None) -> list[FeedServer]:
    servers = [FeedServer(db, env) for _ in range(count)]
    try:
        for server in servers:
            server.wait_ready()
    except BaseException:
        stop_servers(servers)
        raise
    return servers
