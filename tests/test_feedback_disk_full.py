"""sendInteractions with the database's disk full: the soak's disk fault met the feedback flood and
the server answered 500 (`cannot rollback - no transaction is active` hid SQLITE_FULL)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from feedserver.feedback import REQUEST_LESS, InteractionInput, store_interactions
from feedserver.service import FeedService
from tests.support.seed import insert_posts, make_db, many_posts, server_settings

VIEWER = "did:plc:viewer0000000000000000"


def fill_disk(conn: sqlite3.Connection) -> None:
    """SQLITE_FULL from the next page the database needs, as on a full filesystem."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def interactions(uris: list[str]) -> list[InteractionInput]:
    return [InteractionInput(item=uri, event=REQUEST_LESS, feed_context=None) for uri in uris]


def test_store_interactions_raises_the_full_disk_and_leaves_no_transaction(db_path: Path) -> None:
    db = make_db(db_path)
    conn = db.conn
    fill_disk(conn)
    rows = interactions([f"at://did:plc:a/app.bsky.feed.post/{i:06d}" for i in range(2000)])
    with pytest.raises(sqlite3.OperationalError) as raised:
        store_interactions(conn, VIEWER, rows, 0.0, cap=5000, retention_seconds=1e9)
    assert raised.value.sqlite_errorcode == sqlite3.SQLITE_FULL
    assert not conn.in_transaction
    conn.close()


def test_send_interactions_with_the_disk_full_drops_them_and_recovers(db_path: Path) -> None:
    posts = many_posts(50, authors=5)
    db = make_db(db_path)
    insert_posts(db, posts)
    db.conn.close()
    service = FeedService(server_settings(db_path, feedback_max_per_viewer=5000))  # all within budget
    try:
        uris = [p.uri for p in posts] * 40  # 2,000 rows: more than the free pages
        fill_disk(service._write_conn)
        assert asyncio.run(service.record_interactions(VIEWER, interactions(uris))) == len(uris)
        assert service.feedback.stats["dropped_disk_full"] == len(uris)
        assert not service._write_conn.in_transaction
        # space again: the next call is stored
        service._write_conn.execute("PRAGMA max_page_count = 1073741823")
        asyncio.run(service.record_interactions(VIEWER, interactions(uris[:10])))
        stored = service._write_conn.execute(
            "SELECT count(*) FROM interactions WHERE viewer = ?", (VIEWER,)
        ).fetchone()[0]
        assert stored == 10
    finally:
        service.close()
