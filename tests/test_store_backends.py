"""The two store backends: one schema in both dialects, the placeholder translation, PostgreSQL's
exclusive writer (a second ingest waits on the advisory lock, a stale one is fenced by the epoch),
and the commands on a postgresql:// store. PostgreSQL is a real private cluster (tests/support/stores)."""

from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner

from firehose.events import PostUpserted
from firehose.store import open_db
from firehose.store.postgres import to_pg
from firehose.store.rows import KeptPost
from firehose.store.schema import PG_MIGRATIONS, DatabaseError, migrations
from firehose.store.writer import StoreWriter, WriterFencedError
from gitfeed.cli import main
from tests.support.stores import query, scalar

SERVICE = "ws://relay.test"
ALICE = "did:plc:alice000000000000000000"


def post(cursor: int, rkey: str) -> PostUpserted:
    record = {"$type": "app.bsky.feed.post", "text": "github.com/a/b", "createdAt": "2026-11-29T06:00:00Z"}
    return PostUpserted(cursor=cursor, did=ALICE, rkey=rkey, cid=f"bafy{rkey}", record=record)


def kept(*events: PostUpserted) -> dict[str, KeptPost]:
    return {e.uri: KeptPost({"github": 0.9, "ml": 0.1}, [], ("github",)) for e in events}


@pytest.mark.parametrize(
    ("sqlite", "postgres"),
    [
        ("SELECT 1 FROM posts WHERE uri = ?", "SELECT 1 FROM posts WHERE uri = %s"),
        ("score_ml >= :threshold_ml LIMIT :cap", "score_ml >= %(threshold_ml)s LIMIT %(cap)s"),
        ("rkey LIKE '3kw%' AND a = ?", "rkey LIKE '3kw%%' AND a = %s"),
        ("SELECT ':not_a_param ?' , value::bigint", "SELECT ':not_a_param ?' , value::bigint"),
        ("text = 'it''s ?' OR b = ?", "text = 'it''s ?' OR b = %s"),
        ("100 % 7 = ?", "100 %% 7 = %s"),
    ],
)
def test_placeholders_translate_outside_literals(sqlite: str, postgres: str) -> None:
    assert to_pg(sqlite) == postgres


def _columns(db, dialect: str) -> dict[str, list[str]]:
    if dialect == "sqlite":
        tables = [r["name"] for r in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {
            t: [r["name"] for r in query(db, f"SELECT name FROM pragma_table_info('{t}')")]
            for t in tables
            if not t.startswith(("_", "sqlite_"))
        }
    rows = query(
        db,
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        " AND table_name NOT LIKE '\\_%' ORDER BY table_name, ordinal_position",
    )
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["table_name"], []).append(row["column_name"])
    return out


def test_both_dialects_have_the_same_migrations_tables_and_columns(tmp_path, postgres_url: str) -> None:
    assert [name for name, _ in PG_MIGRATIONS] == [m.name for m in migrations._migrations]
    lite, pg = open_db(tmp_path / "a.db"), open_db(postgres_url)
    try:
        assert _columns(pg, "postgres") == _columns(lite, "sqlite")
        assert scalar(pg, "SELECT count(*) FROM _gitfeed_migrations") == len(PG_MIGRATIONS)
    finally:
        pg.close()
    again = open_db(postgres_url)  # reopening applies nothing twice
    again.close()


def test_moderation_version_moves_on_ban_and_pin_in_both_dialects(store_target: str) -> None:
    from feedserver import moderation

    db = open_db(store_target)
    try:
        assert moderation.moderation_version(db.conn) == 0
        moderation.ban(db.conn, "author", ALICE, "spam")
        moderation.pin(db.conn, f"at://{ALICE}/app.bsky.feed.post/3k1")
        moderation.pin(db.conn, f"at://{ALICE}/app.bsky.feed.post/3k1")  # again: an update
        assert moderation.moderation_version(db.conn) == 3
        assert moderation.unban(db.conn, "author", ALICE)
        assert moderation.moderation_version(db.conn) == 4
    finally:
        db.close()


def test_an_unreachable_postgres_is_one_line(postgres_cluster) -> None:
    from tests.e2e.postgres import free_port

    with pytest.raises(
        DatabaseError, match=r"^cannot open database postgresql://nobody@127\.0\.0\.1"
    ) as info:
        open_db(f"postgresql://nobody:secret@127.0.0.1:{free_port()}/gitfeed")
    assert "\n" not in str(info.value) and "secret" not in str(info.value)


def test_replaying_a_committed_batch_on_postgres_changes_nothing(postgres_url: str) -> None:
    db = open_db(postgres_url)
    writer = StoreWriter(db, SERVICE)
    p1, p2 = post(1, "p1"), post(2, "p2")
    writer.apply([p1, p2], kept(p1, p2))
    before = query(db, "SELECT uri, cid, like_count FROM posts ORDER BY uri")
    ids = query(db, "SELECT uri, id FROM posts ORDER BY uri")
    writer.apply([p1, p2], kept(p1, p2))
    assert query(db, "SELECT uri, cid, like_count FROM posts ORDER BY uri") == before
    assert query(db, "SELECT uri, id FROM posts ORDER BY uri") == ids
    assert writer.cursor() == 2
    db.close()


def test_a_second_writer_waits_for_the_first(postgres_url: str) -> None:
    first_db, second_db = open_db(postgres_url), open_db(postgres_url)
    first, second = StoreWriter(first_db, SERVICE), StoreWriter(second_db, SERVICE)
    assert first.claim() and first.epoch == 1
    waiting = threading.Event()
    claimed = threading.Event()

    def take_over() -> None:
        second.claim(poll_seconds=0.02, on_wait=waiting.set)
        claimed.set()

    thread = threading.Thread(target=take_over)
    thread.start()
    assert waiting.wait(5)
    p1 = post(1, "p1")
    first.apply([p1], kept(p1))  # the first keeps writing while the second waits
    time.sleep(0.2)
    assert not claimed.is_set()
    first_db.close()  # its connection goes back to the pool: the lock is released
    assert claimed.wait(5)
    thread.join()
    assert second.epoch == 2 and second.cursor() == 1
    p2 = post(2, "p2")
    second.apply([p2], kept(p2))
    assert scalar(second_db, "SELECT count(*) FROM posts") == 2
    second_db.close()


def test_a_stale_writer_is_fenced_and_rolls_back(postgres_url: str) -> None:
    stale_db, new_db = open_db(postgres_url), open_db(postgres_url)
    stale, new = StoreWriter(stale_db, SERVICE), StoreWriter(new_db, SERVICE)
    p1 = post(1, "p1")
    stale.apply([p1], kept(p1))  # claims on first use: epoch 1
    # The stale writer loses its lock (as with a lost session) but goes on; another takes over.
    stale_db.execute("SELECT pg_advisory_unlock_all()")
    assert new.claim() and new.epoch == 2
    p2 = post(2, "p2")
    with pytest.raises(WriterFencedError, match=r"taken over by another writer \(epoch 1 -> 2\)"):
        stale.apply([p2], kept(p2))
    assert [r["rkey"] for r in query(new_db, "SELECT rkey FROM posts")] == ["p1"]
    assert new.cursor() == 1 and scalar(new_db, "SELECT value FROM counters WHERE name = 'events_seen'") == 1
    new.apply([p2], kept(p2))
    assert new.cursor() == 2
    stale_db.close()
    new_db.close()


def test_commands_on_a_postgres_store(postgres_url: str) -> None:
    db = open_db(postgres_url)
    writer = StoreWriter(db, SERVICE)
    p1 = post(7, "p1")
    writer.apply([p1], kept(p1))
    db.close()
    runner = CliRunner()
    stats = runner.invoke(main, ["stats", "--json", "--db", postgres_url])
    assert stats.exit_code == 0, stats.output
    assert '"posts": 1' in stats.output and '"cursor": 7' in stats.output
    banned = runner.invoke(main, ["ban", "author", ALICE, "--db", postgres_url])
    assert banned.exit_code == 0, banned.output
    listed = runner.invoke(main, ["bans", "--json", "--db", postgres_url])
    assert ALICE in listed.output
    pruned = runner.invoke(main, ["prune", "--older-than", "1d", "--db", postgres_url])
    assert pruned.exit_code == 0, pruned.output
    feed = runner.invoke(main, ["feed", "links", "--json", "--db", postgres_url])
    assert feed.exit_code == 0, feed.output
