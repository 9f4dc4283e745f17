"""What each feed holds and in which order: relevance x engagement x decay, bans, pins, replies, accounts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from feedserver.app import create_app
from feedserver.feeds import FEEDS
from feedserver.ranking import RankWeights, score
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


@pytest.mark.parametrize(
    "uris", [["at://did:plc:a/app.bsky.feed.post/1"], ['at://did:plc:b/x/"q', "at://c/é"], []]
)
def test_a_snapshot_round_trips_through_its_compact_form(uris: list[str]) -> None:
    """What the ranking server publishes is what every other server pages (feedserver.cluster)."""
    from feedserver.moderation import Moderation
    from feedserver.ranking import Snapshot, cut_page, personalize

    count = len(uris)
    snapshot = Snapshot.ranked(
        "abc123",
        "github",
        1700000000.123,
        42,
        np.arange(count, 0, -1),
        np.linspace(1, 0.1, count),
        uris,
        [f"did:plc:author{i % 2}" for i in range(count)],
    )
    again = Snapshot.from_bytes(snapshot.to_bytes())
    assert (again.snapshot_id, again.feed, again.frame, again.plain) == (
        snapshot.snapshot_id,
        snapshot.feed,
        snapshot.frame,
        snapshot.plain,
    )
    assert again.uris == snapshot.uris and again.nbytes == snapshot.nbytes
    assert (
        cut_page(again, 0, 50, Moderation()).items_json()
        == cut_page(snapshot, 0, 50, Moderation()).items_json()
    )
    with pytest.raises(ValueError, match="view"):
        personalize(snapshot, {"did:plc:author0": 0.5}, []).to_bytes()
    with pytest.raises(ValueError):
        Snapshot.from_bytes(b"not a snapshot")
