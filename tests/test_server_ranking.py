"""What each feed holds and in which order: relevance x engagement x decay, bans, pins, replies, accounts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from feedserver.app import create_app
from feedserver.feeds import FEEDS
from feedserver.ranking import ItemTable, RankWeights, Snapshot, score
from tests.support.seed import Post, ban, feed_at, insert_posts, make_db, pin, server_settings, set_account

SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"


def uris(client: TestClient, feed: str, limit: int = 100) -> list[str]:
    response = client.get(SKELETON, params={"feed": feed_at(feed), "limit": limit})
    assert response.status_code == 200, response.text
    return [item["post"] for item in response.json()["feed"]]


def test_score_multiplies_relevance_engagement_and_decay() -> None:
    weights = RankWeights(engagement_weight=1.0, repost_weight=2.0, half_life_hours=12.0)
    now = 1_000_000.0
    columns = {
        "score_github": np.array([1.0, 0.5, 1.0, 1.0]),
        "score_ml": np.zeros(4),
        "like_count": np.array([0.0, 0.0, np.e - 1, 0.0]),
        "repost_count": np.zeros(4),
        "created_ts": np.array([now, now, now, now - 12 * 3600]),
        "indexed_ts": np.array([now, now, now, now]),
    }
    got = score(FEEDS["github"], columns, now, weights)
    assert got == pytest.approx([1.0, 0.5, 2.0, 0.5])
    reposted = dict(columns, like_count=np.zeros(4), repost_count=np.array([0.0, 0.0, (np.e - 1) / 2, 0.0]))
    assert score(FEEDS["github"], reposted, now, weights)[2] == pytest.approx(2.0)


@pytest.fixture
def db_path_seeded(db_path: Path) -> Path:
    db = make_db(db_path)
    insert_posts(
        db,
        [
            Post("did:plc:fresh", "3k1", age_seconds=60, score_github=0.9),
            Post("did:plc:liked", "3k2", age_seconds=6 * 3600, score_github=0.9, likes=200),
            Post("did:plc:old", "3k3", age_seconds=30 * 3600, score_github=1.0, likes=2),
            Post("did:plc:weak", "3k4", age_seconds=60, score_github=0.3, score_ml=0.0),
            Post("did:plc:ml", "3k5", age_seconds=120, score_github=0.0, score_ml=0.95),
            Post("did:plc:reply", "3k6", age_seconds=30, reply_parent="at://did:plc:x/app.bsky.feed.post/1"),
            Post("did:plc:gone", "3k7", age_seconds=30),
            Post(
                "did:plc:links",
                "3k8",
                age_seconds=10,
                score_github=0.6,
                github_urls=["https://github.com/a/b"],
            ),
            Post(
                "did:plc:links",
                "3k9",
                age_seconds=5000,
                score_github=0.6,
                github_urls=["https://github.com/a/c"],
            ),
            Post(
                "did:plc:future",
                "3ka",
                age_seconds=-86400,
                score_github=0.7,
                github_urls=["https://github.com/f/f"],
            ),
        ],
    )
    set_account(db, "did:plc:gone", active=False, status="deactivated")
    set_account(db, "did:plc:fresh", active=True)
    db.conn.close()
    return db_path


def u(author: str, rkey: str) -> str:
    return f"at://{author}/app.bsky.feed.post/{rkey}"


def test_feeds_hold_what_they_should_in_rank_order(db_path_seeded: Path) -> None:
    with TestClient(create_app(server_settings(db_path_seeded))) as client:
        github = uris(client, "github")
        assert github[:3] == [
            u("did:plc:liked", "3k2"),
            u("did:plc:fresh", "3k1"),
            u("did:plc:future", "3ka"),
        ]
        assert u("did:plc:old", "3k3") in github
        assert u("did:plc:weak", "3k4") not in github  # below the github threshold
        assert u("did:plc:ml", "3k5") not in github
        assert u("did:plc:reply", "3k6") not in github  # replies out by default
        assert u("did:plc:gone", "3k7") not in github  # inactive account
        assert uris(client, "ml") == [u("did:plc:ml", "3k5")]
        both = uris(client, "all")
        assert u("did:plc:ml", "3k5") in both and u("did:plc:liked", "3k2") in both
        # links: GitHub links only, newest first; a future createdAt counts as the time we indexed it
        assert uris(client, "links") == [
            u("did:plc:future", "3ka"),
            u("did:plc:links", "3k8"),
            u("did:plc:links", "3k9"),
        ]


def test_replies_when_settings_include_them(db_path_seeded: Path) -> None:
    with TestClient(create_app(server_settings(db_path_seeded, include_replies=True))) as client:
        assert u("did:plc:reply", "3k6") in uris(client, "github")


def test_engagement_weight_zero_ranks_by_freshness(db_path_seeded: Path) -> None:
    with TestClient(create_app(server_settings(db_path_seeded, engagement_weight=0.0))) as client:
        assert uris(client, "github")[0] == u("did:plc:fresh", "3k1")


def test_bans_and_pins_apply_on_the_next_request(db_path_seeded: Path) -> None:
    db = make_db(db_path_seeded)
    with TestClient(create_app(server_settings(db_path_seeded, snapshot_refresh_seconds=3600))) as client:
        assert uris(client, "github")[0] == u("did:plc:liked", "3k2")
        ban(db, "author", "did:plc:liked")
        assert u("did:plc:liked", "3k2") not in uris(client, "github")
        ban(db, "post", u("did:plc:fresh", "3k1"))
        assert u("did:plc:fresh", "3k1") not in uris(client, "github")
        pin(db, u("did:plc:old", "3k3"), "github")
        pin(db, u("did:plc:liked", "3k2"), "*")  # pinned but its author is banned: not shown
        body = client.get(SKELETON, params={"feed": feed_at("github")}).json()["feed"]
        assert body[0] == {
            "post": u("did:plc:old", "3k3"),
            "reason": {"$type": "app.bsky.feed.defs#skeletonReasonPin"},
        }
        assert [i["post"] for i in body].count(u("did:plc:old", "3k3")) == 1
        assert "reason" not in client.get(SKELETON, params={"feed": feed_at("ml")}).json()["feed"][0]
        with db.conn:
            db.conn.execute("DELETE FROM bans")
            db.conn.execute("DELETE FROM pins")
        assert uris(client, "github")[0] == u("did:plc:liked", "3k2")
    db.conn.close()


def test_account_deactivation_applies_on_the_next_snapshot(db_path_seeded: Path) -> None:
    db = make_db(db_path_seeded)
    with TestClient(create_app(server_settings(db_path_seeded, snapshot_refresh_seconds=0))) as client:
        assert u("did:plc:fresh", "3k1") in uris(client, "github")
        set_account(db, "did:plc:fresh", active=False, status="deactivated")
        uris(client, "github")  # the rebuild runs in the background after this request
        for _ in range(50):
            if u("did:plc:fresh", "3k1") not in uris(client, "github"):
                break
        else:
            pytest.fail("the deactivated account's post stayed in the feed")
    db.conn.close()


def _published(uris: list[str], ids: list[int] | None = None, snapshot_id: str = "abc123") -> Snapshot:
    count = len(uris)
    return Snapshot.ranked(
        snapshot_id,
        "github",
        1700000000.123,
        42,
        np.array(ids if ids is not None else range(count, 0, -1), dtype=np.int64),
        np.linspace(1, 0.1, count),
        uris,
        [f"did:plc:author{i % 2}" for i in range(count)],
    )


@pytest.mark.parametrize(
    "uris", [["at://did:plc:a/app.bsky.feed.post/1"], ['at://did:plc:b/x/"q', "at://c/é"], []]
)
def test_a_snapshot_round_trips_through_its_compact_form(uris: list[str]) -> None:
    """What the ranking server publishes is what every other server pages (feedserver.cluster)."""
    from feedserver.moderation import Moderation
    from feedserver.ranking import cut_page, personalize

    snapshot = _published(uris)
    follower = ItemTable()
    again = Snapshot.from_bytes(snapshot.to_bytes(), table=follower)
    assert again.table is follower and again.base is None
    assert (again.snapshot_id, again.feed, again.frame) == (
        snapshot.snapshot_id,
        snapshot.feed,
        snapshot.frame,
    )
    assert again.ids.tolist() == snapshot.ids.tolist() and again.scores.tolist() == snapshot.scores.tolist()
    assert again.uris == snapshot.uris
    assert [again.author(i) for i in range(len(again))] == [snapshot.author(i) for i in range(len(snapshot))]
    assert again.own_bytes == snapshot.own_bytes and again.nbytes == snapshot.nbytes
    assert (
        cut_page(again, 0, 50, Moderation()).items_json()
        == cut_page(snapshot, 0, 50, Moderation()).items_json()
    )
    with pytest.raises(ValueError, match="view"):
        personalize(snapshot, {"did:plc:author0": 0.5}, []).to_bytes()


def test_a_follower_interns_what_it_loads_into_its_own_table() -> None:
    """Consecutive published snapshots share their posts on a follower as on the ranking server."""
    first = _published([f"at://did:plc:a/app.bsky.feed.post/{i}" for i in range(100)], list(range(1, 101)))
    second = _published(
        [f"at://did:plc:a/app.bsky.feed.post/{i}" for i in range(10, 110)], list(range(11, 111))
    )
    follower = ItemTable()
    kept = [Snapshot.from_bytes(first.to_bytes(), table=follower)]
    held = follower.nbytes
    kept.append(Snapshot.from_bytes(second.to_bytes(), table=follower))
    assert len(follower) == 110 and follower.nbytes < 1.5 * held  # the 90 shared posts stored once
    assert kept[1].uris == second.uris
    del kept[0]
    assert len(follower) == 100  # the first one's own posts freed with it


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not a snapshot", "not a published snapshot"),
        (b"GFSNAP1\n\x10\x00\x00\x00{}", "format GFSNAP1, this server reads GFSNAP2"),
        (b"GFSNAP9\n", "format GFSNAP9"),
        (b"GFSNAP2\n\x02", "malformed"),
        (b"GFSNAP2\n\x02\x00\x00\x00{}", "malformed"),
        ("cut", "truncated"),
        ("uris", "inconsistent"),
    ],
)
def test_a_body_in_another_form_is_refused_not_misread(body: bytes | str, message: str) -> None:
    """An old row (published before the item table) or a damaged one is a clear ValueError."""
    whole = _published(
        ["at://did:plc:a/app.bsky.feed.post/1", "at://did:plc:a/app.bsky.feed.post/2"]
    ).to_bytes()
    if body == "cut":
        body = whole[: whole.index(b'["at://') - 4]
    elif body == "uris":
        body = whole[: whole.index(b'["at://')] + b'["at://only/one"]'
    with pytest.raises(ValueError, match=message):
        Snapshot.from_bytes(body)


def test_a_published_row_in_another_form_is_passed_over(postgres_url: str, caplog) -> None:
    """During an upgrade the snapshots table can hold rows an older gitfeed wrote: a follower's catch-up
    and a cursor's load pass them over (logged) instead of failing or misreading them."""
    from feedserver import cluster
    from firehose.store.schema import open_db

    conn = open_db(postgres_url).conn
    try:
        snapshot = _published(["at://did:plc:a/app.bsky.feed.post/1"], snapshot_id="new")
        cluster.publish(conn, snapshot, 100.0, 3600.0)
        for snapshot_id, feed, ts in (("old-ml", "ml", 100.0), ("old-github", "github", 50.0)):
            conn.execute(
                "INSERT INTO snapshots (snapshot_id, feed, built_ts, max_id, published_ts, body)"
                " VALUES (?, ?, 1.0, 1, ?, ?)",
                (snapshot_id, feed, ts, b"GFSNAP1\n\x02\x00\x00\x00{}"),
            )
        table = ItemTable()
        found = cluster.newest(conn, table=table)
        assert [s.snapshot_id for s in found] == ["new"] and found[0].table is table
        assert found[0].uris == snapshot.uris
        assert cluster.load(conn, "old-github", table=table) is None
        assert "snapshot old-ml passed over: published snapshot is format GFSNAP1" in caplog.text
    finally:
        conn.close()


def test_candidate_rows_convert_in_chunks_exactly() -> None:
    import sqlite3

    from feedserver.ranking import ROW_CHUNK, _float_rows

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a INTEGER, b REAL)")
    rows = [(i, i / 7) for i in range(2 * ROW_CHUNK + 5)]
    conn.executemany("INSERT INTO t VALUES (?, ?)", rows)
    got = _float_rows(conn.execute("SELECT a, b FROM t ORDER BY a"), 2)
    assert got.shape == (len(rows), 2) and got.dtype == np.float64
    assert np.array_equal(got, np.array(rows, dtype=np.float64))
    assert _float_rows(conn.execute("SELECT a, b FROM t WHERE a < 0"), 2).shape == (0, 2)


def test_every_feed_is_ranked_before_the_first_request_is_accepted(db_path) -> None:  # noqa: ANN001
    from fastapi.testclient import TestClient

    from feedserver.app import create_app
    from feedserver.feeds import FEEDS
    from tests.support.seed import insert_posts, make_db, many_posts, server_settings

    db = make_db(db_path)
    insert_posts(db, many_posts(30))
    db.conn.close()
    app = create_app(server_settings(db_path))
    service = app.state.service
    assert not service._current
    with TestClient(app):  # the app's startup has run, no request yet
        assert set(service._current) == set(FEEDS)
        assert all(len(snapshot) for snapshot in service._current.values())
