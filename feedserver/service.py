"""The feed service: snapshots, moderation and viewer feedback held in memory, pages cut from them.

Most requests touch no SQL beyond one primary-key read (the moderation version and the newest
interaction id), so they never wait on the ingest writer. Snapshots are rebuilt in a worker thread at
most every `snapshot_refresh_seconds` while requests keep being served from the previous one; each is
kept `snapshot_ttl_seconds` for readers paging through it.

On PostgreSQL, `start()` (the app's startup) joins the other servers of the store
(`feedserver.cluster`): the one holding the ranking lock rebuilds and publishes on a timer, every one
installs what is published and follows the store's state from its link thread, so requests touch no
SQL at all (a cursor naming a snapshot this server does not hold loads it once by id).

A thin coordinator: ranking (`feedserver.ranking`), moderation (`feedserver.moderation`) and viewer
feedback (`feedserver.feedback`) hold the rules; this class holds their state per process and the
connections. Callers: the getFeedSkeleton route (`await skeleton_json(...)`), the web page
(`await first_page(...)`) and `gitfeed feed` (`first_page_sync(...)` and `details(...)`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from feedserver import cluster
from feedserver.cursors import (
    CursorCodec,
    CursorState,
    ExpiredCursorError,
    load_keys,
    parse_keys,
    viewer_tag,
)
from feedserver.feedback import (
    REQUEST_LESS,
    REQUEST_MORE,
    FeedbackBook,
    InteractionBudget,
    InteractionInput,
    store_interactions,
)
from feedserver.feeds import FEEDS, FeedDefinition
from feedserver.metrics import Metrics
from feedserver.moderation import Moderation, load_moderation
from feedserver.ranking import (
    ItemTable,
    Page,
    RankWeights,
    Snapshot,
    build_snapshot,
    cut_page,
    personalize,
    position_after,
)
from feedserver.snapshots import SnapshotCache
from firehose.heap import HeapTrimmer
from firehose.settings import Settings
from firehose.store import backend, status
from firehose.store.schema import open_db

log = logging.getLogger(__name__)

FEEDBACK_LOAD_SECONDS = 1.0  # feedback written by other processes is read at most this often
PRUNE_SECONDS = 60.0  # how often the store drops interactions past the retention age
FULL_REBUILD_SECONDS = 60.0  # rebuild even without new data: time decay moves the order
BUILD_DUTY_FACTOR = 5.0  # rebuilds of all feeds take at most ~1/5 of the time
TOPIC_COUNT_SECONDS = 60.0
MAX_LOADS_IN_FLIGHT = 8  # published snapshots loaded by id at once (cursors made on other servers)
ABSENT_SECONDS = 60.0  # an id found missing from the table is not looked up again for this long
MAX_ABSENT = 1024


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
        target = db_path or settings.store_target
        self.target = target
        # On PostgreSQL, `start()` joins the other servers: one ranks and publishes, all serve from
        # memory (`feedserver.cluster`). Before `start()`, and on SQLite, this process ranks for itself.
        self.shared = backend.is_postgres(str(target))
        self._link: cluster.ClusterLink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._store_state: cluster.StoreState | None = None
        self._rank_task: asyncio.Task[None] | None = None
        self._rank_failing = False
        self._loads: dict[str, asyncio.Task[Snapshot | None]] = {}
        self._absent: OrderedDict[str, float] = OrderedDict()
        self._load_lock = threading.Lock()
        self.cluster_counts = {
            "published": 0,
            "received": 0,
            "loaded": 0,
            "load_missed": 0,
            "expired_store_away": 0,
        }
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.weights = RankWeights.from_settings(settings)
        # One connection per job: the event loop's cheap checks, the builder thread, the writer.
        self._read = open_db(target, create=False).conn
        self._build_conn = open_db(target, create=False, migrate=False).conn
        self._write_conn = open_db(target, create=False, migrate=False).conn
        self._feedback_conn = open_db(target, create=False, migrate=False).conn
        self._build_lock = threading.Lock()
        self._write_lock = threading.Lock()
        keys, self._cursor_keys = load_keys(self._read, settings.cursor_secret)
        self.codec = CursorCodec(keys, clock=clock)
        self.moderation = Moderation()
        self.feedback = FeedbackBook(
            settings.feedback_max_per_viewer, settings.feedback_retention_days * 86400.0
        )
        self.interaction_budget = InteractionBudget(settings.feedback_max_per_viewer)
        self._feedback_task: asyncio.Task[int] | None = None
        self._next_feedback_load = 0.0
        self._next_prune = 0.0
        self._current: dict[str, Snapshot] = {}
        self.items = ItemTable()  # every snapshot's items, stored once (the budget counts it once)
        self.heap = HeapTrimmer()
        self._build_seconds: dict[str, float] = {}  # the last build time of each feed
        self._data_version: dict[str, object] = {}
        self._next_check: dict[str, float] = {}
        self.snapshots = SnapshotCache(
            int(settings.snapshot_budget_mb * 2**20), settings.snapshot_ttl_seconds, clock
        )
        self._building: dict[str, asyncio.Task[Snapshot]] = {}
        # Cursor fallbacks: one rebuild in flight per frame, shared; a token bucket bounds their rate.
        self._fallbacks: dict[tuple[str, int, int], asyncio.Task[Snapshot]] = {}
        self._fallback_rate = settings.fallback_rebuilds_per_minute / 60.0
        self._fallback_burst = max(1.0, settings.fallback_rebuilds_per_minute / 6.0)
        self._fallback_tokens = (self._fallback_burst, clock())
        self.fallback_counts = {"rebuilt": 0, "shared": 0, "refused": 0}
        self._topic_counts: tuple[float, dict[str, int]] = (0.0, {})
        self.views_built = 0  # personalized re-rankings (one per snapshot, viewer and feedback version)

    async def start(self) -> None:
        """The app's startup. On SQLite: rank every feed once, before the first request is accepted, so
        the first viewers after a restart do not wait for cold builds. On PostgreSQL: join the other
        servers, follow their published snapshots and the store's state, and rank when this server
        holds the lock."""
        if not self.shared:
            await self._warm()
            return
        if self._link is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._link = cluster.ClusterLink(
            str(self.target),
            on_snapshot=lambda snapshot: self._call_soon(self._received, snapshot),
            on_state=lambda state, moderation: self._call_soon(self._state_moved, state, moderation),
            table=self.items,
        )
        self._link.start()
        await asyncio.to_thread(self._link.connected.wait, 5.0)  # the newest snapshots are in (or later)
        self._rank_task = self._loop.create_task(self._rank_loop(), name="gitfeed-rank")

    async def _warm(self) -> None:
        for definition in FEEDS.values():
            try:
                await self.current_snapshot(definition)
            except Exception as error:  # the store is unreadable now: the first request builds instead
                log.warning("warming %s: %s", definition.name, str(error).strip()[:200])
                return

    def _call_soon(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(callback, *args)

    async def aclose(self) -> None:
        """Wait for snapshot builds in flight, then close (the app's shutdown)."""
        if self._rank_task is not None:
            self._rank_task.cancel()
        if self._link is not None:
            await asyncio.to_thread(self._link.stop)
        pending = [*self._building.values(), *self._fallbacks.values(), *self._loads.values()]
        if self._rank_task is not None:
            pending.append(self._rank_task)
        if self._feedback_task is not None:
            pending.append(self._feedback_task)
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self.close()

    def close(self) -> None:
        if self._link is not None:
            self._link.stop()
        for conn in (self._read, self._build_conn, self._write_conn, self._feedback_conn):
            conn.close()

    # --- several servers (PostgreSQL): what the cluster link hands over ------------------------

    @property
    def ranks(self) -> bool:
        """This server ranks: alone (SQLite, or not started), or the holder of the ranking lock."""
        return self._link is None or self._link.leader

    def _received(self, snapshot: Snapshot) -> None:
        """A snapshot published by the ranking server (on the event loop): kept, and current when newer."""
        definition = FEEDS.get(snapshot.feed)
        if definition is None:
            return
        self.cluster_counts["received"] += 1
        current = self._current.get(snapshot.feed)
        if current is not None and (
            current.snapshot_id == snapshot.snapshot_id or snapshot.built_ts < current.built_ts
        ):
            self._keep(snapshot)
            return
        self._install(definition, snapshot, None)

    def _state_moved(self, state: cluster.StoreState, moderation: Moderation | None) -> None:
        self._store_state = state
        if moderation is not None and moderation.version != self.moderation.version:
            self.moderation = moderation
        self._follow_cursor_keys(state.cursor_keys)

    def moderation_written(self, conn: object) -> None:
        """This server wrote bans or pins (the operator page): apply them here now, on `conn` (the
        writer's), as on one machine; the other servers follow within a tick of their link."""
        self.moderation = load_moderation(conn)

    def _follow_cursor_keys(self, stored: str) -> None:
        """A rotation written anywhere (`gitfeed rotate-cursor-secret`): sign with the new key, keep
        verifying the old ones for their grace period. A configured secret is the setting's alone."""
        if stored and stored != self._cursor_keys and not self.settings.cursor_secret:
            self.codec = CursorCodec(parse_keys("", stored), clock=self.clock)
            self._cursor_keys = stored

    async def _rank_loop(self) -> None:
        """The ranking server's loop: each feed rebuilt and published when due (as `current_snapshot`
        decides for a lone server), whether or not requests arrive here. Followers skip it."""
        while True:
            await asyncio.sleep(cluster.TICK_SECONDS)
            if not self.ranks:
                continue
            for definition in FEEDS.values():
                name = definition.name
                now = self.clock()
                if now < self._next_check.get(name, 0.0):
                    continue
                interval = self.refresh_interval()
                current = self._current.get(name)
                age = math.inf if current is None else now - current.built_ts
                if age < interval:
                    self._next_check[name] = now + interval - age
                    continue
                self._next_check[name] = now + interval
                try:
                    built = await asyncio.to_thread(
                        self._rank_and_publish, definition, age >= FULL_REBUILD_SECONDS
                    )
                except backend.errors() as error:  # the store is away: serve what we have, try again
                    if not self._rank_failing:
                        log.warning("ranking %s: %s", name, str(error).strip()[:200])
                    self._rank_failing = True
                    continue
                except Exception:  # a bug in one build must not stop ranking for good
                    log.exception("ranking %s failed", name)
                    continue
                if self._rank_failing:
                    log.info("ranking: the store is back")
                    self._rank_failing = False
                if built is not None and self.ranks:
                    self._install(definition, *built)

    def _rank_and_publish(self, definition: FeedDefinition, force: bool) -> tuple[Snapshot, object] | None:
        """In a worker thread: rank the feed when the store moved (or `force`), publish it."""
        with self._build_lock:
            version = backend.data_version(self._build_conn)
        if not force and version == self._data_version.get(definition.name):
            return None
        started = time.perf_counter()
        snapshot = self.build(definition)
        self._build_seconds[definition.name] = time.perf_counter() - started
        if self._link is not None:
            self._link.mark_seen(snapshot.snapshot_id)
        with self._build_lock:
            cluster.publish(self._build_conn, snapshot, self.clock(), self.settings.snapshot_ttl_seconds)
        self.cluster_counts["published"] += 1
        return snapshot, version

    async def _published(self, snapshot_id: str) -> Snapshot | None:
        """A snapshot another server's cursor names, from the table: one load per id however many ask,
        at most MAX_LOADS_IN_FLIGHT at once, and an id found absent is not asked for again a while."""
        now = self.clock()
        absent_until = self._absent.get(snapshot_id)
        if absent_until is not None and absent_until > now:
            return None
        task = self._loads.get(snapshot_id)
        if task is None:
            if len(self._loads) >= MAX_LOADS_IN_FLIGHT:
                return None  # the frame fallback (rate-limited) serves it
            task = asyncio.get_running_loop().create_task(self._load_published(snapshot_id))
            self._loads[snapshot_id] = task
        return await asyncio.shield(task)

    async def _load_published(self, snapshot_id: str) -> Snapshot | None:
        try:
            snapshot = await asyncio.to_thread(self._load_row, snapshot_id)
        except backend.errors() as error:
            log.warning("loading snapshot %s: %s", snapshot_id, str(error).strip()[:200])
            return None
        finally:
            self._loads.pop(snapshot_id, None)
        if snapshot is None:
            self.cluster_counts["load_missed"] += 1
            self._absent[snapshot_id] = self.clock() + ABSENT_SECONDS
            while len(self._absent) > MAX_ABSENT:
                self._absent.popitem(last=False)
            return None
        self.cluster_counts["loaded"] += 1
        self._keep(snapshot)
        return snapshot

    def _load_row(self, snapshot_id: str) -> Snapshot | None:
        with self._load_lock:
            return cluster.load(self._feedback_conn, snapshot_id, table=self.items)

    # --- state shared by all requests ----------------------------------------------------------

    def refresh_state(self, *, wait: bool = True) -> None:
        """Pick up bans/pins and new viewer feedback written by any process (one cheap query).

        With `wait=False` (requests on the event loop) new feedback is loaded by a worker thread, at
        most every FEEDBACK_LOAD_SECONDS, and takes effect when it is in: no request ever replays
        feedback rows itself, however many one viewer sends.
        """
        if self._store_state is not None:  # several servers: the cluster link follows the store
            newest = self._store_state.newest_interaction
        else:
            version, newest, keys = self._read.execute(
                "SELECT (SELECT value FROM server_state WHERE name = 'moderation_version'),"
                " (SELECT coalesce(max(id), 0) FROM interactions),"
                " (SELECT value FROM server_state WHERE name = 'cursor_keys')"
            ).fetchone()
            if int(version or 0) != self.moderation.version:
                self.moderation = load_moderation(self._read)
            if keys:
                self._follow_cursor_keys(str(keys))
        if newest <= self.feedback.seen:
            return
        if wait:
            self._load_feedback()
            return
        now = self.clock()
        if self._feedback_task is None and now >= self._next_feedback_load:
            self._next_feedback_load = now + FEEDBACK_LOAD_SECONDS
            self._feedback_task = asyncio.get_running_loop().create_task(self._load_feedback_async())

    def _load_feedback(self) -> int:
        with self._load_lock:
            return self.feedback.load(self._feedback_conn, self.clock())

    async def _load_feedback_async(self) -> int:
        try:
            return await asyncio.to_thread(self._load_feedback)
        except backend.errors() as error:  # the store is away: the next request tries again
            log.warning("feedback: not loaded: %s", str(error).strip()[:200])
            return self.feedback.seen
        finally:
            self._feedback_task = None

    async def _catch_up_feedback(self) -> None:
        """A cursor made on another server that had seen newer feedback than this one: load it first,
        so this viewer's view (and the page boundary) is the one the cursor was cut from."""
        try:
            await asyncio.to_thread(self._load_feedback)
        except backend.errors() as error:
            log.warning("feedback: not loaded: %s", str(error).strip()[:200])

    def feedback_version(self, viewer: str | None) -> int:
        return self.feedback.version(viewer)

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
                table=self.items,
            )
        if self.metrics:
            self.metrics.snapshot_builds.labels(definition.name, "fallback" if max_id else "fresh").inc()
            self.metrics.snapshot_seconds.labels(definition.name).observe(time.perf_counter() - started)
        self.heap.maybe()  # a build's rows are freed now; older snapshots were dropped meanwhile
        return snapshot

    def _install(self, definition: FeedDefinition, snapshot: Snapshot, data_version: object) -> Snapshot:
        self._current[definition.name] = snapshot
        self._data_version[definition.name] = data_version
        self._keep(snapshot, current=True)
        return snapshot

    def _keep(self, snapshot: Snapshot, *, current: bool = False) -> None:
        self.snapshots.put(snapshot, current=current)
        if self.metrics:
            self.metrics.snapshots_kept.set(len(self.snapshots))
            self.metrics.snapshot_bytes.set(self.snapshots.bytes)

    async def _rebuild(self, definition: FeedDefinition) -> Snapshot:
        if self._link is not None:  # a cold follower: the newest published, else its own build
            try:
                published = await asyncio.to_thread(self._newest_published, definition.name)
            except BaseException:
                self._building.pop(definition.name, None)
                raise
            if published is not None:
                self._building.pop(definition.name, None)
                return self._install(definition, published, None)
        data_version = backend.data_version(self._read)
        started = time.perf_counter()
        try:
            snapshot = await asyncio.to_thread(self.build, definition)
            self._build_seconds[definition.name] = time.perf_counter() - started
            return self._install(definition, snapshot, data_version)
        finally:
            self._building.pop(definition.name, None)

    def _newest_published(self, feed: str) -> Snapshot | None:
        with self._load_lock:
            found = cluster.newest(self._feedback_conn, feed, table=self.items)
        return found[0] if found else None

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
        if self._link is not None:
            return snapshot  # several servers: the ranking server's loop keeps it fresh
        now = self.clock()
        if now >= self._next_check.get(definition.name, 0.0) and definition.name not in self._building:
            interval = self.refresh_interval()
            self._next_check[definition.name] = now + interval
            age = now - snapshot.built_ts
            if age >= interval:
                changed = backend.data_version(self._read) != self._data_version.get(definition.name)
                if changed or age >= FULL_REBUILD_SECONDS:
                    self._start_rebuild(definition)
        return snapshot

    def _view(self, snapshot: Snapshot, viewer: str | None, version: int) -> Snapshot:
        """The snapshot as this viewer sees it, given their feedback up to `version` (cached)."""
        if not viewer or not version:
            return snapshot
        key = (snapshot.snapshot_id, viewer, version)
        view = self.snapshots.view(key)
        if view is None:
            view = self._personalize(snapshot, viewer, version)
            self.snapshots.put_view(key, view)
        return view

    def _personalize(self, snapshot: Snapshot, viewer: str, version: int) -> Snapshot:
        feedback = self.feedback.get(viewer)
        if feedback is None:
            return snapshot
        factors, hidden = feedback.as_of(version)
        self.views_built += 1
        return personalize(snapshot, factors, hidden)

    async def _view_async(self, snapshot: Snapshot, viewer: str | None, version: int) -> Snapshot:
        """`_view`, re-ranking in a worker thread (a viewer's first request after new feedback)."""
        if not viewer or not version:
            return snapshot
        key = (snapshot.snapshot_id, viewer, version)
        view = self.snapshots.view(key)
        if view is None:
            view = await asyncio.to_thread(self._personalize, snapshot, viewer, version)
            self.snapshots.put_view(key, view)
        return view

    # --- pages ---------------------------------------------------------------------------------

    def _first_page(
        self, snapshot: Snapshot, view: Snapshot, version: int, limit: int, viewer: str | None
    ) -> tuple[Page, Snapshot, CursorState]:
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
        self.refresh_state(wait=False)
        if not cursor:
            snapshot = await self.current_snapshot(definition)
            version = self.feedback_version(viewer)
            view = await self._view_async(snapshot, viewer, version)
            page, view, state = self._first_page(snapshot, view, version, limit, viewer)
        else:
            state = self.codec.decode(cursor, feed=definition.name, viewer=viewer)
            snapshot = self.snapshots.get(state.snapshot_id)
            if snapshot is None and not self._store_reachable():
                snapshot = self._in_memory_or_expired(definition, state)
            if snapshot is None and self._link is not None:
                snapshot = await self._published(state.snapshot_id)  # made on another server
            if viewer and state.feedback_version > self.feedback.seen and self._store_reachable():
                await self._catch_up_feedback()
            if snapshot is not None:
                view = await self._view_async(snapshot, viewer, state.feedback_version)
                start = state.offset
            else:
                # The snapshot is gone: take its frame (same instant, same newest post), rebuilt once
                # for every reader of it, and resume after the last item served, by rank key. Scores
                # only grow with likes, so what was served stays ahead of the key and is not served again.
                try:
                    snapshot = await self._frame_snapshot(definition, state)
                except backend.errors() as error:
                    if not backend.connection_lost(error):
                        raise
                    # The store is away and this snapshot is in no server's memory: the app reloads
                    # the feed from the top, which is served from memory.
                    message = "cursor has expired: load the feed again from the top"
                    raise ExpiredCursorError(message) from error
                version = self._feedback_version_at_most(viewer, state)
                view = await self._view_async(snapshot, viewer, version)
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

    def _store_reachable(self) -> bool:
        return self._link is None or self._link.connected.is_set()

    def _in_memory_or_expired(self, definition: FeedDefinition, state: CursorState) -> Snapshot:
        """With the store away (the cluster link lost it), a cursor whose snapshot this server lacks is
        served from a kept snapshot of its frame or answered expired at once: loading it, or rebuilding
        it, would wait for a connection the pool cannot give (seconds each, holding the request)."""
        frame = (definition.name, round(state.built_ts * 1000), state.max_id)
        snapshot = self.snapshots.frame(frame)
        if snapshot is None:
            self.cluster_counts["expired_store_away"] += 1
            raise ExpiredCursorError("cursor has expired: load the feed again from the top")
        self.fallback_counts["shared"] += 1
        return snapshot

    def _feedback_version_at_most(self, viewer: str | None, state: CursorState) -> int:
        return state.feedback_version if self.feedback.get(viewer) is not None else 0

    async def _frame_snapshot(self, definition: FeedDefinition, state: CursorState) -> Snapshot:
        """The snapshot of a cursor's frame when its own is gone: a kept one of the same frame, the
        rebuild already in flight for it, or one new rebuild (shared, kept within the budget).

        Raises ExpiredCursorError past FEEDGEN_FALLBACK_REBUILDS_PER_MINUTE (a token bucket)."""
        frame = (definition.name, round(state.built_ts * 1000), state.max_id)
        snapshot = self.snapshots.frame(frame)
        if snapshot is not None:
            self.fallback_counts["shared"] += 1
            return snapshot
        task = self._fallbacks.get(frame)
        if task is not None:
            self.fallback_counts["shared"] += 1
        else:
            if not self._take_fallback_token():
                self.fallback_counts["refused"] += 1
                raise ExpiredCursorError("cursor has expired: load the feed again from the top")
            self.fallback_counts["rebuilt"] += 1
            task = asyncio.get_running_loop().create_task(self._rebuild_frame(definition, state, frame))
            self._fallbacks[frame] = task
        return await asyncio.shield(task)  # a reader who leaves does not cancel the others' rebuild

    async def _rebuild_frame(
        self, definition: FeedDefinition, state: CursorState, frame: tuple[str, int, int]
    ) -> Snapshot:
        try:
            snapshot = await asyncio.to_thread(
                self.build, definition, now=state.built_ts, max_id=state.max_id
            )
            self._keep(snapshot)
            return snapshot
        finally:
            self._fallbacks.pop(frame, None)

    def _take_fallback_token(self) -> bool:
        tokens, at = self._fallback_tokens
        now = self.clock()
        tokens = min(self._fallback_burst, tokens + max(0.0, now - at) * self._fallback_rate)
        if tokens < 1.0:
            self._fallback_tokens = (tokens, now)
            return False
        self._fallback_tokens = (tokens - 1.0, now)
        return True

    async def first_page(
        self, definition: FeedDefinition, limit: int, viewer: str | None = None
    ) -> tuple[Page, Snapshot]:
        """The first page a subscriber gets now from the current snapshot (the web page), and the
        snapshot as this viewer sees it: exactly what getFeedSkeleton without a cursor serves."""
        self.refresh_state(wait=False)
        snapshot = await self.current_snapshot(definition)
        version = self.feedback_version(viewer)
        view = await self._view_async(snapshot, viewer, version)
        page, view, _ = self._first_page(snapshot, view, version, limit, viewer)
        return page, view

    def first_page_sync(self, name: str, limit: int = 50, viewer: str | None = None) -> tuple[Page, Snapshot]:
        """The first page a subscriber gets now, from a snapshot built synchronously (`gitfeed feed`)."""
        definition = FEEDS[name]
        self.refresh_state()
        snapshot = self.build(definition)
        version = self.feedback_version(viewer)
        view = self._view(snapshot, viewer, version)
        page, view, _ = self._first_page(snapshot, view, version, limit, viewer)
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
        now = self.clock()
        with self._write_lock:
            prune_all = now >= self._next_prune
            if prune_all:
                self._next_prune = now + PRUNE_SECONDS
            try:
                self.feedback.stats["rows_pruned"] += store_interactions(
                    self._write_conn,
                    viewer,
                    items,
                    now,
                    cap=self.settings.feedback_max_per_viewer,
                    retention_seconds=self.feedback.retention_seconds,
                    prune_all=prune_all,
                    label_queue_max=self.settings.label_queue_max,
                )
            except sqlite3.OperationalError as error:
                if error.sqlite_errorcode != sqlite3.SQLITE_FULL:
                    raise
                # Feedback is best effort (like the rows dropped at the per-viewer cap): with the
                # disk full the call still answers 200, serving is unaffected, the rows are counted.
                self.feedback.stats["dropped_disk_full"] += len(items)
                log.warning("feedback: %d interactions dropped: %s", len(items), error)
                return
            except backend.errors() as error:
                if not backend.connection_lost(error):
                    raise
                # The same with the store away (PostgreSQL restarting): answered, counted, not kept.
                self.feedback.stats["dropped_store_away"] += len(items)
                log.warning("feedback: %d interactions dropped: %s", len(items), str(error).strip()[:200])
                return
        try:
            self._load_feedback()  # still in the worker thread: the viewer's next page has it
        except backend.errors() as error:
            if not backend.connection_lost(error):
                raise

    async def record_interactions(self, viewer: str, items: list[InteractionInput]) -> int:
        """Store a viewer's interactions (the ranking uses requestLess / requestMore), bounded per
        viewer, and load them into memory, all in a worker thread. Past the viewer's budget
        (`InteractionBudget`) the rest is counted (`dropped_rate`), requestLess / requestMore kept first."""
        granted = self.interaction_budget.admit(viewer, len(items), self.clock())
        if granted < len(items):
            self.feedback.stats["dropped_rate"] += len(items) - granted
            items = sorted(items, key=lambda item: item.event not in (REQUEST_LESS, REQUEST_MORE))[:granted]
        if items:
            await asyncio.to_thread(self._store_interactions, viewer, items)
        return len(items)

    def health(self) -> dict:
        """Database reachable, and each ingest source's cursor with its lag."""
        now = self.clock()
        servers = {}
        if self._link is not None:  # several servers: this one's part (`feedserver.cluster`)
            snapshots = {name: snap.snapshot_id for name, snap in self._current.items()}
            servers = {"cluster": {"ranks": self.ranks, "snapshots": snapshots, **self.cluster_counts}}
        try:
            sources = status.sources(self._read, now)
        except backend.errors() as error:
            return {"ok": False, "db": False, "error": str(error), **servers}
        ingest = [source.summary() for source in sources]
        return {"ok": True, "db": True, "ingest": ingest, "feeds": sorted(FEEDS), **servers}

    def memory_counters(self) -> dict[str, int]:
        """What the memory bounds did so far: snapshots evicted, fallbacks, feedback loaded/dropped."""
        counts = {"snapshots_evicted": self.snapshots.evicted, "views_built": self.views_built}
        counts |= {f"fallback_{name}": n for name, n in self.fallback_counts.items()}
        counts |= {f"feedback_{name}": n for name, n in self.feedback.stats.items()}
        counts["feedback_rows_kept"] = self.feedback.rows_kept()
        return counts

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
