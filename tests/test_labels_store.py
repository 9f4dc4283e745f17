"""The label queue and the operator's labels on a real SQLite file: what enters (ingest, a subscriber's
requestLess over the real app), its bound, labeling, and deletes that take posts out."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedserver.app import create_app
from firehose.detect import classifier_record, embed_text, github_links
from firehose.events import PostUpserted
from firehose.ingest import Ingest
from firehose.scoring import LinkScorer
from firehose.settings import load_settings
from firehose.sources.capture import CaptureSource
from firehose.store import labels
from firehose.store.schema import open_db
from firehose.store.writer import StoreWriter
from tests.support import framegen as fg
from tests.support.seed import Post, insert_posts, make_db, server_settings
from tests.support.servicetokens import VIEWER, Directory, Keypair, make_jwt
from tests.support.stories import ALICE, BOB, story, write_capture

POLICY = labels.LabelPolicy(cap=3, margin=0.15, admission_share=0.0)
THRESHOLDS = {"github": 0.5, "ml": 0.5}


def event(rkey: str, text: str = "a post", did: str = ALICE, **record: object) -> PostUpserted:
    body = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-01-01T00:00:00Z", **record}
    return PostUpserted(cursor=1, did=did, rkey=rkey, cid="bafy", record=body)


def queued(uri: str, reason: str = "uncertain", ml: float = 0.45) -> labels.QueuedPost:
    return labels.QueuedPost(uri, {"text": uri}, reason, {"github": 0.0, "ml": ml})


@pytest.mark.parametrize(
    ("scores", "share", "reason"),
    [
        ({"github": 0.0, "ml": 0.40}, 0.0, "uncertain"),  # a near-miss under the threshold
        ({"github": 0.0, "ml": 0.60}, 0.0, "uncertain"),  # admitted, but only just
        ({"github": 0.0, "ml": 0.20}, 1.0, None),  # far under: neither uncertain nor admitted
        ({"github": 1.0, "ml": 0.00}, 0.0, None),  # a rule's 1.0 is sure, and no admission is sampled
        ({"github": 1.0, "ml": 0.00}, 1.0, "recent_admission"),
        ({"github": 0.9, "ml": 0.55}, 1.0, "uncertain"),  # uncertain wins over the sample
    ],
)
def test_picks_what_enters_the_queue(scores: dict, share: float, reason: str | None) -> None:
    policy = labels.LabelPolicy(cap=10, margin=0.15, admission_share=share)
    picked = labels.picks([event("3k1")], [scores], THRESHOLDS, policy)
    assert [p.reason for p in picked] == ([reason] if reason else [])


def test_picks_nothing_when_the_queue_is_off() -> None:
    off = labels.LabelPolicy(cap=0, admission_share=1.0)
    assert labels.picks([event("3k1")], [{"github": 0.5, "ml": 0.5}], THRESHOLDS, off) == []


def test_admission_sample_is_stable_and_near_its_share() -> None:
    uris = [f"at://did:plc:x/app.bsky.feed.post/{i}" for i in range(20_000)]
    share = sum(labels.sampled(uri, 0.02) for uri in uris) / len(uris)
    assert 0.015 < share < 0.025
    assert [labels.sampled(u, 0.02) for u in uris[:500]] == [labels.sampled(u, 0.02) for u in uris[:500]]


def test_the_compact_record_reads_as_the_full_one() -> None:
    card = fg.external_embed("https://github.com/owner/repo", "owner/repo", "a tool " * 400)
    full = fg.post_record(
        "see https://github.com/owner/repo",
        facets=[
            fg.link_facet(
                "see https://github.com/owner/repo",
                "https://github.com/owner/repo",
                "https://github.com/owner/repo",
            )
        ],
        embed=card,
    )
    images = {
        "$type": "app.bsky.embed.images",
        "images": [{"alt": "a chart of LLM eval scores", "image": fg.blob()}] * 6,
    }
    for record in (full, fg.post_record("", embed=images)):
        compact = classifier_record(record)
        assert embed_text(compact) == embed_text(record)
        assert github_links(compact) == github_links(record)
        assert len(json.dumps(compact)) < 4000 and "$link" not in json.dumps(compact)  # no blobs


def test_the_queue_is_bounded_per_reason_oldest_dropped(store_target: str) -> None:
    db = open_db(store_target)
    conn = db.conn
    with db.atomic():
        for i in range(10):
            labels.enqueue(conn, [queued(f"at://a/p/{i}")], 3, now=100.0 + i)
        labels.enqueue(conn, [queued("at://b/p/1", "recent_admission")], 3, now=50.0)
    assert labels.queue_counts(conn) == {"show_less": 0, "uncertain": 3, "recent_admission": 1}
    assert [item.uri for item in labels.queue(conn, reason="uncertain")] == [
        "at://a/p/9",
        "at://a/p/8",
        "at://a/p/7",
    ]
    # a labeled post never enters again
    labels.add_label(conn, "at://a/p/9", "ml", now=200.0)
    with db.atomic():
        labels.enqueue(conn, [queued("at://a/p/9")], 3, now=300.0)
    assert "at://a/p/9" not in {item.uri for item in labels.queue(conn)}


def test_labeling_records_the_record_and_leaves_the_queue(store_target: str) -> None:
    db = make_db(store_target)
    stored = Post(ALICE, "3kstored", text="our new eval harness", score_ml=0.6)
    insert_posts(db, [stored])
    conn = db.conn
    with db.atomic():
        labels.enqueue(conn, [queued("at://q/p/1")], 10, now=1.0)
    first = labels.add_label(conn, "at://q/p/1", "g", now=2.0)
    assert first.labels == {"github"} and first.record == {"text": "at://q/p/1"}
    assert labels.queue(conn) == []
    second = labels.add_label(conn, stored.uri, "ml,github", now=3.0)  # stored, never queued
    assert second.record["text"] == "our new eval harness"
    labels.add_label(conn, "at://q/p/1", "neither", now=4.0)  # relabeling replaces
    assert {(x.uri, tuple(sorted(x.labels))) for x in labels.all_labels(conn)} == {
        ("at://q/p/1", ()),
        (stored.uri, ("github", "ml")),
    }
    with pytest.raises(labels.LabelError, match="neither queued nor stored"):
        labels.add_label(conn, "at://nobody/app.bsky.feed.post/x", "ml", now=5.0)
    with pytest.raises(labels.LabelError, match="unknown label"):
        labels.add_label(conn, stored.uri, "ml,cats", now=5.0)


@pytest.mark.parametrize(
    ("given", "topics"),
    [("g", {"github"}), ("m", {"ml"}), ("b", {"github", "ml"}), ("n", set()), ("both", {"github", "ml"})],
)
def test_parse_labels(given: str, topics: set[str]) -> None:
    assert labels.parse_labels(given) == topics


def test_ingest_queues_admissions_and_forgets_deleted_and_taken_down_posts(
    tmp_path: Path, store_target: str
) -> None:
    """The story through the real ingest: with every admission sampled, Alice's GitHub post is queued;
    Carol's (deleted) and Bob's (taken down) leave the queue as they leave the posts."""
    capture = write_capture(tmp_path / "story.bin.zst", story())
    cfg = load_settings(label_admission_share=1.0, batch_max_events=1, _env_file=None)
    db = open_db(store_target)
    asyncio.run(Ingest(CaptureSource(capture, cfg), db, cfg, LinkScorer()).run())
    items = labels.queue(db.conn)
    assert [(i.uri, i.reason) for i in items] == [(fg.post_uri(ALICE, "3kgh0000000a2"), "recent_admission")]
    assert (
        items[0].text == "shipped https://github.com/Pallets/Flask today" and items[0].scores["github"] == 1.0
    )
    assert not [u for (u,) in db.execute("SELECT uri FROM label_queue") if BOB in u]


def test_writer_forgets_labels_of_deleted_posts(store_target: str) -> None:
    from firehose.events import PostDeleted

    db = open_db(store_target)
    writer = StoreWriter(db, "test", label_queue_max=10)
    post = event("3kdel", "an LLM paper")
    writer.apply([post], {}, [labels.QueuedPost(post.uri, post.record, "uncertain", {"ml": 0.4})])
    labels.add_label(db.conn, post.uri, "ml", now=time.time())
    writer.apply([PostDeleted(cursor=2, did=ALICE, rkey="3kdel")], {})
    assert labels.all_labels(db.conn) == [] and labels.queue(db.conn) == []


@pytest.fixture
def directory():
    plc = Directory()
    yield plc
    plc.close()


def test_show_less_over_the_app_queues_stored_posts_only_and_stays_bounded(
    db_path: Path, directory: Directory
) -> None:
    db = make_db(db_path)
    posts = [Post(ALICE, f"3ka{i:03d}", text=f"post {i}", score_github=0.9) for i in range(8)]
    insert_posts(db, posts)
    db.conn.close()
    key = Keypair("ES256K")
    directory.keys[VIEWER] = key
    settings = server_settings(db_path, auth_mode="optional", plc_url=directory.url, label_queue_max=5)
    less = "app.bsky.feed.defs#requestLess"
    interactions = [{"item": p.uri, "event": less} for p in posts]
    interactions += [{"item": "at://did:plc:stranger/app.bsky.feed.post/x", "event": less}]
    interactions += [{"item": posts[0].uri, "event": "app.bsky.feed.defs#requestMore"}]
    token = make_jwt(key, lxm="app.bsky.feed.sendInteractions")
    with TestClient(create_app(settings)) as client:
        for body in (interactions, interactions[7:8]):
            response = client.post(
                "/xrpc/app.bsky.feed.sendInteractions",
                json={"interactions": body},
                headers={"authorization": f"Bearer {token}"},
            )
            assert response.status_code == 200, response.text
    items = labels.queue(open_db(db_path).conn)
    # capped at 5 (the newest), the stranger's uri ignored, a second request counted
    assert len(items) == 5 and {i.reason for i in items} == {"show_less"}
    assert {i.uri: i.requests for i in items} == {p.uri: 2 if p is posts[7] else 1 for p in posts[3:]}
    assert all(i.text.startswith("post ") and i.scores["github"] == 0.9 for i in items)
