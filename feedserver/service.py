"""The feed service: snapshots, moderation and viewer feedback held in memory, pages cut from them.

Most requests touch no SQL beyond one primary-key read (the moderation version and the newest
interaction id), so they never wait on the ingest writer. Snapshots are rebuilt in a worker thread at
most every `snapshot_refresh_seconds` while requests keep being served from the previous one; each is
kept `snapshot_ttl_seconds` for readers paging through it.

A thin coordinator: ranking (`feedserver.ranking`), moderation (`feedserver.moderation`) and viewer
feedback (`feedserver.feedback`) hold the rules; this class holds their state per process and the
connections. Callers: the getFeedSkeleton route (`await skeleton_json(...)`), the web page
(`await first_page(...)`) and `gitfeed feed` (`first_page_sync(...)` and `details(...)`).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from feedserver.cursors import CursorCodec, CursorState, load_or_create_secret, viewer_tag
from feedserver.feedback import (
    InteractionInput,
    ViewerFeedback,
    load_feedback,
    store_interactions,
)
from feedserver.feeds import FEEDS, FeedDefinition
from feedserver.metrics import Metrics
from feedserver.moderation import Moderation, load_moderation
from feedserver.ranking import (
    Page,
    RankWeights,
    Snapshot,
    build_snapshot,
    cut_page,
    personalize,
    position_after,
)
from firehose.settings import Settings
from firehose.store import status
from firehose.store.schema import open_db

log = logging.getLogger(__name__)

MAX_KEPT_SNAPSHOTS = 512
MAX_VIEWS = 128
FULL_REBUILD_SECONDS = 60.0  # rebuild even without new data: time decay moves the order
BUILD_DUTY_FACTOR = 5.0  # rebuilds of all feeds take at most ~1/5 of the time
TOPIC_COUNT_SECONDS = 60.0


class FeedService:
    """Everything a getFeedSkeleton request needs, for one database."""

    def __init__(
        self,
        settings: Settings,
        db_path: Path | str | None = None,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path = Path(db_path or settings.sqlite_location)
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.weights = RankWeights.from_settings(settings)
        # One connection per job: the event loop's cheap checks, the builder thread, the writer.
        self._read = open_db(path, create=False).conn
        self._build_conn = open_db(path, create=False, migrate=False).conn
        self._write_conn = open_db(path, create=False, migrate=False).conn
        self._build_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.codec = CursorCodec(load_or_create_secret(self._read, settings.cursor_secret))
        self.moderation = Moderation()
        self._feedback: dict[str, ViewerFeedback] = {}
        self._feedback_seen = 0
        self._current: dict[str, Snapshot] = {}
        self._build_seconds: dict[str, float] = {}  # the last build time of each feed
        self._data_version: dict[str, int] = {}
        self._next_check: dict[str, float] = {}
        self._kept: OrderedDict[str, Snapshot] = OrderedDict()
        self._views: OrderedDict[tuple[str, str, int], Snapshot] = OrderedDict()
        self._building: dict[str, asyncio.Task[Snapshot]] = {}
        self._topic_counts: tuple[float, dict[str, int]] = (0.0, {})

    async def aclose(self) -> None:
        """Wait for snapshot builds in flight, then close (the app's shutdown)."""
        pending = list(self._building.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self.close()

    def close(self) -> None:
        for conn in (self._read, self._build_conn, self._write_conn):
            conn.close()

    # --- state shared by all requests ----------------------------------------------------------

    def refresh_state(self) -> None:
        """Pick up bans/pins and new viewer feedback written by any process (one cheap query)."""
        version, newest = self._read.execute(
            "SELECT (SELECT value FROM server_state WHERE name = 'moderation_version'),"
            " (SELECT coalesce(max(id), 0) FROM interactions)"
        ).fetchone()
        if int(version or 0) != self.moderation.version:
            self.moderation = load_moderation(self._read)
        if newest > self._feedback_seen:
            self._feedback_seen = load_feedback(self._read, self._feedback_seen, self._feedback)

    def feedback_version(self, viewer: str | None) -> int:
        feedback = self._feedback.get(viewer) if viewer else None
        return feedback.version() if feedback else 0

    # --- snapshots -----------------------------------------------------------------------------

    def build(
        self, definition: FeedDefinition, *, now: float | None = None, max_id: int | None = None
    ) -> Snapshot:
        """Rank a feed now (or as of a past snapshot's frame). Thread-safe; runs SQL."""
        started = time.perf_counter()
        with self._build_lock:
            snapshot = build_snapshot(
                self._build_conn,
                definition,
                self.weights,
                now=self.clock() if now is None else now,
                max_id=max_id,
            )
        snapshot.encoded_items()  # encode here, in the worker thread, not on the event loop
        if self.metrics:
            self.metrics.snapshot_builds.labels(definition.name, "fallback" if max_id else "fresh").inc()
            self.metrics.snapshot_seconds.labels(definition.name).observe(time.perf_counter() - started)
        return snapshot

    def _keep(self, snapshot: Snapshot) -> None:
        self._kept[snapshot.snapshot_id] = snapshot
        horizon = self.clock() - self.settings.snapshot_ttl_seconds
        while self._kept:
            oldest = next(iter(self._kept.values()))
            if oldest.built_ts >= horizon and len(self._kept) <= MAX_KEPT_SNAPSHOTS:
                break
            self._kept.popitem(last=False)
        if self.metrics:
            self.metrics.snapshots_kept.set(len(self._kept))

    def _kept_snapshot(self, snapshot_id: str) -> Snapshot | None:
        snapshot = self._kept.get(snapshot_id)
        if snapshot is not None and snapshot.built_ts < self.clock() - self.settings.snapshot_ttl_seconds:
            return None
        return snapshot

    def _install(self, definition: FeedDefinition, snapshot: Snapshot, data_version: int) -> Snapshot:
        self._current[definition.name] = snapshot
        self._data_version[definition.name] = data_version
        self._keep(snapshot)
        return snapshot

    async def _rebuild(self, definition: FeedDefinition) -> Snapshot:
        data_version = self._read.execute("PRAGMA data_version").fetchone()[0]
        started = time.perf_counter()
        try:
            snapshot = await asyncio.to_thread(self.build, definition)
            self._build_seconds[definition.name] = time.perf_counter() - started
            return self._install(definition, snapshot, data_version)
        finally:
            self._building.pop(definition.name, None)

    def refresh_interval(self) -> float:
        """Seconds between rebuilds of a feed: the setting, stretched so ranking takes at most about
        1/BUILD_DUTY_FACTOR of a core (a big store re-ranks less often instead of starving requests)."""
        building = BUILD_DUTY_FACTOR * sum(self._build_seconds.values())
        return max(self.settings.snapshot_refresh_seconds, building)

    def _start_rebuild(self, definition: FeedDefinition) -> asyncio.Task[Snapshot]:
        task = self._building.get(definition.name)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._rebuild(definition))
            self._building[definition.name] = task
        return task

    async def current_snapshot(self, definition: FeedDefinition) -> Snapshot:
        """The feed's newest snapshot; starts a background rebuild when it is due, waits only when cold."""
        snapshot = self._current.get(definition.name)
        if snapshot is None:
            return await self._start_rebuild(definition)
        now = self.clock()
        if now >= self._next_check.get(definition.name, 0.0) and definition.name not in self._building:
            interval = self.refresh_interval()
            self._next_check[definition.name] = now + interval
            age = now - snapshot.built_ts
            if age >= interval:
                changed = self._read.execute("PRAGMA data_version").fetchone()[0] != self._data_version.get(
                    definition.name
                )
                if changed or age >= FULL_REBUILD_SECONDS:
                    self._start_rebuild(definition)
        return snapshot

    def _view(self, snapshot: Snapshot, viewer: str | None, version: int) -> Snapshot:
        """The snapshot as this viewer sees it, given their feedback up to `version` (cached)."""
        if not viewer or not version:
            return snapshot
        key = (snapshot.snapshot_id, viewer, version)
        view = self._views.get(key)
        if view is None:
            factors, hidden = self._feedback[viewer].as_of(version)
            view = personalize(snapshot, factors, hidden)
            self._views[key] = view
            if len(self._views) > MAX_VIEWS:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(key)
        return view

    # --- pages ---------------------------------------------------------------------------------

    def _first_page(
        self, snapshot: Snapshot, limit: int, viewer: str | None
    ) -> tuple[Page, Snapshot, CursorState]:
        version = self.feedback_version(viewer)
        view = self._view(snapshot, viewer, version)
        pins = self.moderation.pins_for(snapshot.feed)
        pin_ids = tuple(i for i in (snapshot.id_of(uri) for uri in pins) if i is not None)
        page = cut_page(view, 0, limit, self.moderation, pins=pins, skip_ids=frozenset(pin_ids))
        state = CursorState(
            feed=snapshot.feed,
            snapshot_id=view.snapshot_id,
            offset=0,
            built_ts=view.built_ts,
            max_id=view.max_id,
            last_score=page.last_score,
            last_id=page.last_id,
            feedback_version=version,
            viewer_tag=viewer_tag(viewer),
            pin_ids=pin_ids,
        )
        return page, view, state

    async def page(
        self, definition: FeedDefinition, limit: int, cursor: str | None, viewer: str | None
    ) -> tuple[Page, str | None]:
        """One page of a feed and the cursor for the next (None on the last page).

        Raises InvalidCursorError for a bad cursor.
        """
        self.refresh_state()
        if not cursor:
            snapshot = await self.current_snapshot(definition)
            page, view, state = self._first_page(snapshot, limit, viewer)
        else:
            state = self.codec.decode(cursor, feed=definition.name, viewer=viewer)
            snapshot = self._kept_snapshot(state.snapshot_id)
            if snapshot is not None:
                view = self._view(snapshot, viewer, state.feedback_version)
                start = state.offset
            else:
                # The snapshot is gone: rebuild its frame (same instant, same newest post) and resume
                # after the last item served, by rank key. Scores only grow with likes, so what was
                # served stays ahead of the key and is not served again.
                snapshot = await asyncio.to_thread(
                    self.build, definition, now=state.built_ts, max_id=state.max_id
                )
                self._keep(snapshot)
                view = self._view(snapshot, viewer, self._feedback_version_at_most(viewer, state))
                start = position_after(view, state.last_score, state.last_id)
            page = cut_page(view, start, limit, self.moderation, skip_ids=frozenset(state.pin_ids))
        if page.exhausted:
            return page, None
        last_score, last_id = (
            (page.last_score, page.last_id) if page.next_index > 0 else (state.last_score, state.last_id)
        )
        next_cursor = self.codec.encode(
            CursorState(
                feed=definition.name,
                snapshot_id=view.snapshot_id,
                offset=page.next_index,
                built_ts=view.built_ts,
                max_id=view.max_id,
                last_score=last_score,
                last_id=last_id,
                feedback_version=state.feedback_version,
                viewer_tag=state.viewer_tag,
                pin_ids=state.pin_ids,
            )
        )
        return page, next_cursor

    async def skeleton_json(
        self, definition: FeedDefinition, limit: int, cursor: str | None, viewer: str | None
    ) -> bytes:
        """The getFeedSkeleton body as JSON bytes, from pre-encoded items (what the route sends)."""
        page, next_cursor = await self.page(definition, limit, cursor, viewer)
        tail = b"}" if next_cursor is None else b',"cursor":"' + next_cursor.encode() + b'"}'
        return b'{"feed":' + page.items_json() + tail

    def _feedback_version_at_most(self, viewer: str | None, state: CursorState) -> int:
        return state.feedback_version if viewer and viewer in self._feedback else 0

    async def first_page(
        self, definition: FeedDefinition, limit: int, viewer: str | None = None
    ) -> tuple[Page, Snapshot]:
        """The first page a subscriber gets now from the current snapshot (the web page), and the
        snapshot as this viewer sees it: exactly what getFeedSkeleton without a cursor serves."""
        self.refresh_state()
        snapshot = await self.current_snapshot(definition)
        page, view, _ = self._first_page(snapshot, limit, viewer)
        return page, view

    def first_page_sync(self, name: str, limit: int = 50, viewer: str | None = None) -> tuple[Page, Snapshot]:
        """The first page a subscriber gets now, from a snapshot built synchronously (`gitfeed feed`)."""
        definition = FEEDS[name]
        self.refresh_state()
        snapshot = self.build(definition)
        page, view, _ = self._first_page(snapshot, limit, viewer)
        return page, view

    def details(self, uris: list[str]) -> dict[str, dict]:
        """Stored columns of these posts, keyed by uri (for display)."""
        if not uris:
            return {}
        marks = ",".join("?" * len(uris))
        cursor = self._read.execute(
            f"SELECT uri, author, text, created_ts, like_count, repost_count, github_urls, repos,"
            f" score_github, score_ml FROM posts WHERE uri IN ({marks})",
            uris,
        )
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}

    # --- writes and health ---------------------------------------------------------------------

    def _store_interactions(self, viewer: str, items: list[InteractionInput]) -> None:
        with self._write_lock:
            store_interactions(self._write_conn, viewer, items, self.clock())

    async def record_interactions(self, viewer: str, items: list[InteractionInput]) -> int:
        """Store a viewer's interactions (the ranking uses requestLess / requestMore)."""
        if items:
            await asyncio.to_thread(self._store_interactions, viewer, items)
        return len(items)

    def health(self) -> dict:
        """Database reachable, and each ingest source's cursor with its lag."""
        now = self.clock()
        try:
            sources = status.sources(self._read, now)
        except sqlite3.Error as error:
            return {"ok": False, "db": False, "error": str(error)}
        ingest = [source.summary() for source in sources]
        return {"ok": True, "db": True, "ingest": ingest, "feeds": sorted(FEEDS)}

    def cap_counters(self) -> dict[str, int]:
        """What ingest's caps cut or skipped so far (the store's counters; runs SQL)."""
        with self._build_lock:
            return status.cap_counts(self._build_conn)

    def store_gauges(self) -> tuple[dict[str, float], dict[str, int]]:
        """Ingest lag per source and posts per topic (counts cached for a minute; runs SQL)."""
        now = self.clock()
        with self._build_lock:
            sources = status.sources(self._build_conn, now)
            counted_at, counts = self._topic_counts
            if now - counted_at >= TOPIC_COUNT_SECONDS:
                counts = status.posts_by_topic(self._build_conn, self.settings.thresholds)
                self._topic_counts = (now, counts)
        return {s.service: s.lag_seconds for s in sources}, counts


__all__ = ["FeedService"]
