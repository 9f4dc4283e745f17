"""The server's memory budget: compact snapshots, a byte budget across them, one rebuild per expired
frame, and viewer feedback bounded so one viewer's flood costs nobody else anything."""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from pathlib import Path

import orjson
import pytest

from feedserver.cursors import ExpiredCursorError
from feedserver.feedback import REQUEST_LESS, REQUEST_MORE, InteractionInput
from feedserver.feeds import FEEDS
from feedserver.metrics import Metrics
from feedserver.ranking import RankWeights, build_snapshot
from feedserver.service import FeedService
from feedserver.snapshots import SnapshotCache
from tests.support.seed import Post, insert_posts, make_db, many_posts, server_settings

# A full feed (10,000 items) held alone is about 110 bytes an item: the shared item table's entry (the
# encoded item ~70, offsets 16, id 8, uri hash 8, author code 4, refcount 4, index 12, the authors) and
# the snapshot's own slot 4 and score 8. Today's orjson allocates ~4 KB per separate dumps() result,
# which is what this bound catches if items ever become separate bytes objects again.
MAX_BYTES_PER_ITEM = 160
# A snapshot whose items are already in the table (the next rebuild of a feed, another feed with the
# same posts) adds only its own slot and score per rank.
MAX_SHARED_BYTES_PER_ITEM = 16
GITHUB = FEEDS["github"]


def seeded(db_path: Path, count: int, *, authors: int = 2000) -> Path:
    db = make_db(db_path)
    insert_posts(db, many_posts(count, authors=authors))
    db.conn.close()
    return db_path


def fallback_builds(service: FeedService) -> float:
    return service.metrics.snapshot_builds.labels("github", "fallback")._value.get()


def traced(build):  # noqa: ANN001, ANN201 - () -> Snapshot; returns (snapshot, bytes it holds)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        snapshot = build()
        gc.collect()
        return snapshot, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_a_10000_item_snapshot_stays_under_the_bytes_per_item_bound(db_path: Path) -> None:
    settings = server_settings(seeded(db_path, 10_000))
    warm = FeedService(settings)
    warm.build(GITHUB)  # warm: sqlite's caches and numpy's first allocations are not the snapshot's
    warm.close()
    service = FeedService(settings)
    try:
        # The first snapshot: its items enter the server's (empty) table.
        first, held = traced(lambda: service.build(GITHUB))  # what the server keeps, encoded as it serves it
        assert len(first) == 10_000
        assert held / len(first) < MAX_BYTES_PER_ITEM, f"{held / len(first):.0f} bytes an item"
        # The budget's accounting is honest: what the snapshot says it costs covers what it holds.
        assert first.nbytes >= 0.9 * held
        assert first.nbytes / len(first) < MAX_BYTES_PER_ITEM
        # The next one shares every item: it holds its slots and scores, and the table does not grow.
        table_bytes = service.items.nbytes
        second, held = traced(lambda: service.build(GITHUB))
        assert held / len(second) < MAX_SHARED_BYTES_PER_ITEM, f"{held / len(second):.0f} bytes an item"
        assert second.own_bytes >= 0.9 * held and service.items.nbytes == table_bytes
        assert len(service.items) == 10_000
        cache = SnapshotCache(budget_bytes=2**30, ttl_seconds=600, clock=time.time)
        cache.put(first)
        cache.put(second, current=True)
        assert cache.bytes == first.own_bytes + second.own_bytes + table_bytes  # the table counted once
        # Entries nobody holds are freed: the table keeps what the kept snapshots use, no more.
        assert set(first.uris) == set(second.uris)
        del first, second, cache
        gc.collect()
        assert len(service.items) == 0 and service.items.live_bytes == 0
    finally:
        service.close()


def test_kept_snapshots_stay_within_the_byte_budget_least_recently_used_first(db_path: Path) -> None:
    seeded(db_path, 3000)
    conn = make_db(db_path).conn
    weights = RankWeights(max_posts=3000)
    now = [time.time()]
    snapshots = [build_snapshot(conn, GITHUB, weights, now=now[0] + i) for i in range(10)]
    size = snapshots[0].nbytes
    cache = SnapshotCache(budget_bytes=3 * size + size // 2, ttl_seconds=600, clock=lambda: now[0])
    for i, snapshot in enumerate(snapshots):
        cache.put(snapshot, current=(i == 9))
        if i >= 1:
            assert cache.get(snapshots[0].snapshot_id) is not None  # kept in use: never the oldest
        assert cache.bytes <= cache.budget_bytes
    kept = {s.snapshot_id for s in snapshots if cache.get(s.snapshot_id) is not None}
    assert kept == {snapshots[0].snapshot_id, snapshots[8].snapshot_id, snapshots[9].snapshot_id}
    assert cache.evicted == 7
    assert cache.frame(snapshots[9].frame) is snapshots[9]
    assert cache.frame(snapshots[3].frame) is None
    # The current snapshot stays even when it alone is past the budget.
    tiny = SnapshotCache(budget_bytes=1, ttl_seconds=600, clock=lambda: now[0])
    tiny.put(snapshots[9], current=True)
    tiny.put(snapshots[8])
    assert tiny.get(snapshots[9].snapshot_id) is snapshots[9] and tiny.get(snapshots[8].snapshot_id) is None


def test_concurrent_requests_with_one_expired_cursor_cause_exactly_one_rebuild(db_path: Path) -> None:
    settings = server_settings(seeded(db_path, 3000))
    before = FeedService(settings)  # the server before a restart (or another server)
    body = orjson.loads(asyncio.run(before.skeleton_json(GITHUB, 50, None, None)))
    before.close()
    service = FeedService(settings, metrics=Metrics())

    async def replay(cursor: str) -> list[bytes]:
        bodies = await asyncio.gather(*(service.skeleton_json(GITHUB, 50, cursor, None) for _ in range(20)))
        bodies += [await service.skeleton_json(GITHUB, 50, cursor, None) for _ in range(20)]
        return bodies

    try:
        bodies = asyncio.run(replay(body["cursor"]))
        assert fallback_builds(service) == 1  # 40 requests, one frame: one rebuild, shared
        pages = {tuple(item["post"] for item in orjson.loads(b)["feed"]) for b in bodies}
        assert len(pages) == 1 and len(next(iter(pages))) == 50
        assert not set(next(iter(pages))) & {item["post"] for item in body["feed"]}
        assert service.fallback_counts == {"rebuilt": 1, "shared": 39, "refused": 0}
        # The next page's cursor names the rebuilt snapshot: paging on costs no rebuild either.
        following = orjson.loads(bodies[0])["cursor"]
        asyncio.run(service.skeleton_json(GITHUB, 50, following, None))
        assert fallback_builds(service) == 1
    finally:
        service.close()


def test_expired_cursors_of_new_frames_are_rate_limited(db_path: Path) -> None:
    clock = [time.time()]
    settings = server_settings(seeded(db_path, 500), fallback_rebuilds_per_minute=6)  # burst 1, then 1/10 s
    db = make_db(db_path)
    cursors = []
    for i in range(3):  # three frames, from other servers (or before a restart): a post apart
        insert_posts(db, [Post(f"did:plc:late{i}", f"3klate{i}", age_seconds=1)])
        other = FeedService(settings)
        cursors.append(orjson.loads(asyncio.run(other.skeleton_json(GITHUB, 50, None, None)))["cursor"])
        other.close()
    db.conn.close()
    service = FeedService(settings, metrics=Metrics(), clock=lambda: clock[0])
    try:
        asyncio.run(service.skeleton_json(GITHUB, 50, cursors[0], None))
        with pytest.raises(ExpiredCursorError):
            asyncio.run(service.skeleton_json(GITHUB, 50, cursors[1], None))
        asyncio.run(service.skeleton_json(GITHUB, 50, cursors[0], None))  # its frame is kept: no token
        clock[0] += 10
        asyncio.run(service.skeleton_json(GITHUB, 50, cursors[2], None))
        assert fallback_builds(service) == 2
        assert service.fallback_counts == {"rebuilt": 2, "shared": 1, "refused": 1}
    finally:
        service.close()


def less(uri: str) -> InteractionInput:
    return InteractionInput(item=uri, event=REQUEST_LESS, feed_context=None)


def test_a_feedback_flood_is_bounded_and_costs_other_viewers_nothing(db_path: Path) -> None:
    posts = many_posts(400, authors=40)
    db = make_db(db_path)
    insert_posts(db, posts)
    db.conn.close()
    settings = server_settings(db_path, feedback_max_per_viewer=50, snapshot_refresh_seconds=3600)
    clock = [time.time()]
    server = FeedService(settings, clock=lambda: clock[0])  # serves the other viewer
    flooded = FeedService(settings, clock=lambda: clock[0])  # the server the flood reaches
    flooder, other = "did:plc:flooder00000000000000", "did:plc:other000000000000000"
    calls = 0

    async def scenario() -> list[bytes]:
        nonlocal calls
        await server.record_interactions(
            other, [InteractionInput(item=posts[0].uri, event=REQUEST_MORE, feed_context=None)]
        )
        await server.skeleton_json(GITHUB, 50, None, other)
        loads, views = server.feedback.stats["loads"], server.views_built
        bodies = []
        for round_ in range(40):  # 40 calls of 100 requestLess, between the other viewer's requests
            await flooded.record_interactions(flooder, [less(p.uri) for p in posts[round_ : round_ + 100]])
            calls += 1
            bodies.append(await server.skeleton_json(GITHUB, 50, None, other))
            bodies.append(await server.skeleton_json(GITHUB, 50, None, None))
        if server._feedback_task is not None:
            await server._feedback_task
        # Another process's flood: read by one load in a worker thread (the clock stands still, so
        # at most one a second), never row by row in each request; the other viewer's view is reused.
        assert server.feedback.stats["loads"] - loads <= 1
        assert server.views_built == views
        return bodies

    try:
        bodies = asyncio.run(scenario())
        assert calls == 40
        for service in (flooded, server):
            kept = service.feedback.get(flooder)
            assert kept is not None and len(kept) <= 50
            assert service.feedback.rows_kept() <= 50 + 1
        # The clock stands still: the flooder's budget (the cap) is spent on its first call, and the
        # rest is answered but never written.
        assert flooded.feedback.stats["dropped_rate"] == 40 * 100 - 50
        stored = flooded._read.execute(
            "SELECT count(*) FROM interactions WHERE viewer = ?", (flooder,)
        ).fetchone()[0]
        assert stored <= 50
        assert all(len(orjson.loads(b)["feed"]) == 50 for b in bodies)
        # The flooder's own past state replays at most the cap.
        kept = flooded.feedback.get(flooder)
        kept.as_of(kept.events[0].id)
        assert kept.replayed <= 50
    finally:
        server.close()
        flooded.close()
