"""The store writer on both backends (a real SQLite file, a real PostgreSQL database): idempotent
batches, engagement counts, accounts, cursor."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from firehose.detect import github_links
from firehose.events import (
    AccountChanged,
    EngagementCreated,
    EngagementDeleted,
    IdentityChanged,
    PostDeleted,
    PostUpserted,
    Progress,
    SkippedFrame,
)
from firehose.store import open_db
from firehose.store.rows import KeptPost
from firehose.store.schema import DatabaseError
from firehose.store.writer import StoreWriter
from tests.support.stores import query, scalar

ALICE = "did:plc:alice000000000000000000"
BOB = "did:plc:bob00000000000000000000"


def post(
    cursor: int, rkey: str, text: str = "https://github.com/a/b", did: str = ALICE, **extra
) -> PostUpserted:
    record = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-11-29T06:00:00Z", **extra}
    return PostUpserted(cursor=cursor, did=did, rkey=rkey, cid=f"bafy{rkey}{cursor}", record=record)


def keep_all(events) -> dict[str, KeptPost]:
    return {
        e.uri: KeptPost({"github": 0.9, "ml": 0.1}, github_links(e.record), ("github",))
        for e in events
        if isinstance(e, PostUpserted)
    }


def like(cursor: int, rkey: str, subject: PostUpserted, did: str = BOB) -> EngagementCreated:
    return EngagementCreated(cursor=cursor, kind="like", did=did, rkey=rkey, subject_uri=subject.uri)


@pytest.fixture
def writer(store_target: str):
    db = open_db(store_target)
    yield StoreWriter(db, service="ws://relay.test")
    db.close()


def rows(writer: StoreWriter) -> list[dict]:
    return query(writer.db, "SELECT * FROM posts ORDER BY uri")


def account(writer: StoreWriter, did: str) -> dict:
    [row] = query(writer.db, "SELECT * FROM accounts WHERE did = ?", [did])
    return row


def test_batch_stores_posts_counts_and_cursor(writer: StoreWriter) -> None:
    p1, p2 = post(1, "p1"), post(2, "p2", text="nothing")
    events = [p1, p2, like(3, "l1", p1), like(4, "l2", p1, did=ALICE), Progress(5)]
    result = writer.apply(events, {p1.uri: keep_all([p1])[p1.uri]})
    assert (result.posts_inserted, result.engagements_applied, result.cursor) == (1, 2, 5)
    [row] = rows(writer)
    assert row["uri"] == p1.uri and row["like_count"] == 2 and row["repos"] == '["a/b"]'
    assert writer.cursor() == 5
    counters = {r["name"]: r["value"] for r in query(writer.db, "SELECT name, value FROM counters")}
    assert counters["events_seen"] == 5 and counters["posts_seen"] == 2 and counters["kept_github"] == 1


def test_replaying_a_batch_changes_nothing(writer: StoreWriter) -> None:
    p1 = post(1, "p1")
    events = [p1, like(2, "l1", p1), EngagementCreated(3, "repost", BOB, "r1", p1.uri)]
    writer.apply(events, keep_all(events))
    before = rows(writer)
    again = writer.apply(events, keep_all(events))
    assert again.posts_inserted == 0 and again.engagements_applied == 0
    assert rows(writer) == before
    assert before[0]["like_count"] == 1 and before[0]["repost_count"] == 1


def test_unlike_decrements_once_and_likes_of_unknown_posts_are_ignored(writer: StoreWriter) -> None:
    p1, stranger = post(1, "p1"), post(9, "zz", did=BOB)
    events = [p1, like(2, "l1", p1), like(3, "l2", stranger)]
    writer.apply(events, keep_all([p1]))
    unlike = EngagementDeleted(4, "like", BOB, "l1")
    writer.apply([unlike, EngagementDeleted(5, "like", BOB, "l2")], {})
    writer.apply([unlike], {})
    assert rows(writer)[0]["like_count"] == 0
    assert scalar(writer.db, "SELECT count(*) FROM engagements") == 0


def test_delete_removes_post_and_its_engagements(writer: StoreWriter) -> None:
    p1 = post(1, "p1")
    writer.apply([p1, like(2, "l1", p1)], keep_all([p1]))
    result = writer.apply([PostDeleted(3, ALICE, "p1")], {})
    assert (
        result.posts_deleted == 1
        and rows(writer) == []
        and scalar(writer.db, "SELECT count(*) FROM engagements") == 0
    )


def test_update_rescores_and_an_update_out_of_topic_removes(writer: StoreWriter) -> None:
    p1 = post(1, "p1")
    writer.apply([p1], keep_all([p1]))
    edited = PostUpserted(2, ALICE, "p1", "bafyedit", {**p1.record, "text": "now about ML"}, update=True)
    writer.apply([edited], {edited.uri: KeptPost({"github": 0.2, "ml": 0.8}, [], ("ml",))})
    [row] = rows(writer)
    assert (row["cid"], row["score_ml"], row["text"]) == ("bafyedit", 0.8, "now about ML")
    writer.apply([PostUpserted(3, ALICE, "p1", "bafyedit2", {"text": "lunch"}, update=True)], {})
    assert rows(writer) == []


@pytest.mark.parametrize(("status", "remaining"), [("takendown", 0), ("deleted", 0), ("deactivated", 1)])
def test_account_status(writer: StoreWriter, status: str, remaining: int) -> None:
    p1 = post(1, "p1")
    writer.apply([p1], keep_all([p1]))
    writer.apply([AccountChanged(2, ALICE, active=False, status=status)], {})
    assert len(rows(writer)) == remaining
    row = account(writer, ALICE)
    assert (row["active"], row["status"]) == (0, status)
    writer.apply([AccountChanged(3, ALICE, active=True)], {})
    assert account(writer, ALICE)["active"] == 1


def test_identity_kept_only_for_known_authors(writer: StoreWriter) -> None:
    p1 = post(1, "p1")
    writer.apply(
        [p1, IdentityChanged(2, ALICE, "alice.test"), IdentityChanged(3, BOB, "bob.test")], keep_all([p1])
    )
    assert [row["handle"] for row in query(writer.db, "SELECT handle FROM accounts")] == ["alice.test"]


def test_skipped_frames_are_counted(writer: StoreWriter) -> None:
    writer.apply([SkippedFrame(7, "truncated-cbor"), SkippedFrame(None, "garbage")], {})
    counters = {r["name"]: r["value"] for r in query(writer.db, "SELECT name, value FROM counters")}
    assert counters["frames_skipped"] == 2 and writer.cursor() == 7


def test_a_failing_batch_commits_nothing(writer: StoreWriter) -> None:
    p1 = post(1, "p1")
    writer.apply([p1], keep_all([p1]))
    broken = KeptPost({"github": "not a number"}, [], ("github",))  # type: ignore[dict-item]
    p2 = post(2, "p2")
    with pytest.raises(ValueError):
        writer.apply([like(2, "l1", p1), p2], {p2.uri: broken})
    assert writer.cursor() == 1 and rows(writer)[0]["like_count"] == 0 and len(rows(writer)) == 1


def test_prune_removes_posts_stored_before_the_retention_window(writer: StoreWriter) -> None:
    old = post(1, "old")
    backdated = post(2, "new", createdAt="2020-01-01T00:00:00Z")
    writer.apply([old, backdated, like(3, "l1", old)], keep_all([old, backdated]))
    writer.db.execute("UPDATE posts SET indexed_ts = ? WHERE rkey = 'old'", [time.time() - 8 * 86400])
    assert writer.prune(7 * 86400) == 1
    assert [row["rkey"] for row in rows(writer)] == ["new"] and scalar(
        writer.db, "SELECT count(*) FROM engagements"
    ) == 0
    assert writer.prune(7 * 86400) == 0


def test_open_db_refuses_missing_and_corrupt_files(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="no database"):
        open_db(tmp_path / "missing.db", create=False)
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot open"):
        open_db(corrupt)


def test_a_batch_takes_the_write_lock_up_front_so_another_writer_cannot_make_it_fail(db_path: Path) -> None:
    """A batch reads (which posts are stored) before it writes. Begun deferred, it fails at once with
    "database is locked" when the server commits a write in between, whatever the busy timeout (the
    soak saw ingest exit 13 times so); begun immediate, it waits for the lock instead."""
    import sqlite3
    import threading

    database = open_db(db_path)
    statements: list[str] = []
    database.conn.set_trace_callback(statements.append)
    writer = StoreWriter(database, service="ws://relay.test")
    writer.apply([post(1, "3kaaa")], keep_all([post(1, "3kaaa")]))
    assert statements[0].strip().upper() == "BEGIN IMMEDIATE"

    other = sqlite3.connect(str(db_path), timeout=30.0, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE IF NOT EXISTS scratch (n INTEGER)")
    stop = threading.Event()

    def server_writes() -> None:
        while not stop.is_set():
            other.execute("INSERT INTO scratch VALUES (1)")  # a commit of its own, as feedback is

    thread = threading.Thread(target=server_writes)
    thread.start()
    try:
        for n in range(2, 52):
            events = [post(n, f"3k{n:04d}"), like(n, f"3l{n:04d}", post(1, "3kaaa"))]
            writer.apply(events, keep_all(events[:1]))  # would raise sqlite3.OperationalError if deferred
    finally:
        stop.set()
        thread.join()
    assert database.conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 51
