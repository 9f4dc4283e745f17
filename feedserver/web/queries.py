"""Page data for the web views: ranked posts of a feed, trending repositories, operator figures.

The ranked order is the subscribers' order: a feed's page is `FeedService.first_page`, the first page
getFeedSkeleton serves (pins first, bans left out). Everything costly
(snapshots, trending counts, the hourly histogram) is refreshed off the request path by one
background worker (stale-while-revalidate), so a page view costs a primary-key read for the
moderation version, one `uri IN (...)` query for the shown posts, and the template.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from feedserver.feeds import FeedDefinition
from feedserver.moderation import Moderation
from feedserver.service import FeedService
from feedserver.web.trending import Aggregates, Mention, TrendingRepo
from firehose.settings import Settings
from firehose.store import status
from firehose.store.backend import Connection
from firehose.store.schema import open_db

log = logging.getLogger(__name__)

TRENDING_LIMIT = 10
MIN_REFRESH_SECONDS = 1.0
FIRST_WAIT_SECONDS = 1.0
FULL_RELOAD_SECONDS = 600.0  # catches deleted/pruned posts in the trending counts
SAMPLE_HISTORY = 720  # counter samples kept for events/s (one per refresh)
RATE_WINDOW_SECONDS = 60.0
POST_FIELDS = (
    "uri author rkey handle text created_ts indexed_ts like_count repost_count score_github score_ml "
    "repos github_urls card_title card_description"
).split()
POST_SELECT = (
    "SELECT "
    + ", ".join("a.handle" if f == "handle" else f"p.{f}" for f in POST_FIELDS)
    + " FROM posts p LEFT JOIN accounts a ON a.did = p.author"
)


@dataclass(frozen=True)
class PostView:
    """One post as the page shows it."""

    uri: str
    did: str
    rkey: str
    handle: str | None
    text: str
    created_ts: float
    likes: int
    reposts: int
    scores: dict[str, float]
    repos: tuple[str, ...]
    github_urls: tuple[str, ...]
    card_title: str
    card_description: str
    pinned: bool = False

    @property
    def author_label(self) -> str:
        return self.handle or self.did

    @property
    def bsky_url(self) -> str:
        return f"https://bsky.app/profile/{self.did}/post/{self.rkey}"


@dataclass(frozen=True)
class FeedPage:
    """The first `limit` items of a feed as subscribers get them now, and a version for polling."""

    feed: FeedDefinition
    posts: list[PostView]
    version: str
    total: int


@dataclass(frozen=True)
class Trending:
    """Top repositories per window ('24h', '7d'), with the linking posts shown under each."""

    windows: dict[str, list[TrendingRepo]]
    posts: dict[str, PostView]
    computed_ts: float


@dataclass
class CounterSample:
    ts: float
    values: dict[str, int]


class PageData:
    """Reads for the web views, with the caches that keep `/` fast at a million stored posts.

    Ranked pages come from the app's FeedService (its snapshots, its moderation), so the page shows
    what a subscriber's first page holds; trending and the operator's figures are ours.
    """

    def __init__(self, settings: Settings, service: FeedService) -> None:
        self.settings = settings
        self.service = service
        self.target = settings.store_target
        self.refresh_seconds = max(settings.snapshot_refresh_seconds, MIN_REFRESH_SECONDS)
        self._local = threading.local()
        self._aggregates = Aggregates(settings.thresholds)
        self._aggregates_loaded = float("-inf")
        self._trending: Trending | None = None
        self._ready = threading.Event()  # set once the first trending counts exist
        self._trending_version = -1
        self._lock = threading.Lock()  # one refresher at a time
        self._worker: threading.Thread | None = None
        self._last_refresh = float("-inf")
        self.samples: deque[CounterSample] = deque(maxlen=SAMPLE_HISTORY)

    def conn(self) -> Connection:
        """This thread's connection (sqlite3 connections are not shared across threads)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_db(self.target, create=False).conn
            self._local.conn = conn
        return conn

    def moderation(self) -> Moderation:
        """Bans and pins as the feed service sees them, re-read when their version moved."""
        self.service.refresh_state()
        return self.service.moderation

    # --- background refresh ----------------------------------------------------------------------

    def kick(self, *, force: bool = False) -> None:
        """Start a background refresh if the last one is older than the refresh interval (or `force`)."""
        if not force and time.monotonic() - self._last_refresh < self.refresh_seconds:
            return
        if self._worker is not None and self._worker.is_alive():
            return
        self._last_refresh = time.monotonic()
        self._worker = threading.Thread(target=self.refresh, name="gitfeed-web-refresh", daemon=True)
        self._worker.start()

    def refresh(self) -> None:
        """Update trending and the hourly histogram with new posts, and sample the counters."""
        try:
            with self._lock:
                self._refresh_aggregates(self.service.moderation)
                self.sample_counters()
        except Exception:  # a failed refresh keeps serving the last good data
            log.exception("web refresh failed")

    def _refresh_aggregates(self, moderation: Moderation) -> None:
        now = time.time()
        conn = self.conn()
        aggregates = self._aggregates
        if time.monotonic() - self._aggregates_loaded > FULL_RELOAD_SECONDS:
            aggregates.load(conn, moderation, now)
            self._aggregates_loaded = time.monotonic()
        else:
            aggregates.update(conn, now)
            if moderation.version != aggregates.trends.moderation.version:
                aggregates.trends.recount(moderation, now)
        windows = {
            name: aggregates.trends.top(name, TRENDING_LIMIT, now) for name in aggregates.trends.windows
        }
        example_uris = [m.uri for repos in windows.values() for r in repos for m in r.examples]
        posts = {p.uri: p for p in self.posts_by_uri(example_uris)}
        self._trending = Trending(windows=windows, posts=posts, computed_ts=now)
        self._trending_version = moderation.version
        self._ready.set()

    def sample_counters(self) -> None:
        self.samples.append(CounterSample(time.time(), status.counters(self.conn())))

    # --- reads for the pages ---------------------------------------------------------------------

    def posts_by_uri(self, uris: list[str], pinned: frozenset[str] = frozenset()) -> list[PostView]:
        """Posts with their author's handle where known, in the order of `uris`; missing ones dropped."""
        if not uris:
            return []
        marks = ",".join("?" * len(uris))
        cursor = self.conn().execute(f"{POST_SELECT} WHERE p.uri IN ({marks})", uris)
        by_uri = {}
        for row in cursor.fetchall():
            post = dict(zip(POST_FIELDS, row, strict=True))
            uri = post["uri"]
            by_uri[uri] = PostView(
                uri=uri,
                did=post["author"],
                rkey=post["rkey"],
                handle=post["handle"],
                text=post["text"],
                created_ts=min(post["created_ts"], post["indexed_ts"]),
                likes=post["like_count"],
                reposts=post["repost_count"],
                scores={"github": post["score_github"], "ml": post["score_ml"]},
                repos=tuple(_json_list(post["repos"])),
                github_urls=tuple(_json_list(post["github_urls"])),
                card_title=post["card_title"],
                card_description=post["card_description"],
                pinned=uri in pinned,
            )
        return [by_uri[u] for u in dict.fromkeys(uris) if u in by_uri]

    async def feed_page(self, definition: FeedDefinition, limit: int) -> FeedPage:
        """The first page of a feed as an anonymous subscriber gets it now (pins, then ranked, bans out)."""
        page, snapshot = await self.service.first_page(definition, limit)
        uris = [item["post"] for item in page.items]
        posts = self.posts_by_uri(uris, pinned=frozenset(page.pins))
        version = f"{snapshot.snapshot_id}.{self.service.moderation.version}.{limit}"
        return FeedPage(feed=definition, posts=posts, version=version, total=len(snapshot))

    def _ensure_trending(self, moderation: Moderation) -> None:
        if self._trending is None:
            with self._lock:
                if self._trending is None:
                    self._refresh_aggregates(moderation)

    async def trending_async(self) -> Trending | None:
        """Trending repositories from the cache, bans applied. The first count of a big store runs in
        the background: a page waits for it at most FIRST_WAIT_SECONDS, then goes without (None)."""
        moderation = self.moderation()
        if self._trending is None:
            self.kick(force=True)
            await asyncio.to_thread(self._ready.wait, FIRST_WAIT_SECONDS)
            if self._trending is None:
                return None
        else:
            self.kick()
        trending = self._trending
        assert trending is not None
        if self._trending_version == moderation.version:
            return trending
        # Bans moved since the counts were made: hide banned examples now; the recount follows.
        windows = {
            name: [
                TrendingRepo(r.repo, r.count, tuple(m for m in r.examples if _allowed(moderation, m)))
                for r in repos
            ]
            for name, repos in trending.windows.items()
        }
        return Trending(windows=windows, posts=trending.posts, computed_ts=trending.computed_ts)

    def histogram(self) -> tuple[int, dict[str, list[int]]]:
        """Posts kept per topic per hour over the last 7 days (first hour index, series). Runs SQL once."""
        self._ensure_trending(self.service.moderation)
        return self._aggregates.histogram.series(time.time())


def _allowed(moderation: Moderation, mention: Mention) -> bool:
    return moderation.allows(mention.uri, mention.author)


def _json_list(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
