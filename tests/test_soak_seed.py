"""The soak's store seed (scripts/soaklib/seed.py) and how the audit treats it, without `gitfeed run`:
a temp database seeded as the soak seeds it, audited against an empty expected state."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from firehose.store.schema import open_db
from scripts.soak import parse_args
from scripts.soaklib.audit import Expected, audit_db
from scripts.soaklib.seed import (
    DEFAULT_SEED_POSTS,
    NEWEST_HOURS,
    OLDEST_HOURS,
    SEED_AUTHOR_PREFIX,
    Seed,
    seed_store,
    streamed_created_ts,
)

THRESHOLDS = {"github": 0.5, "ml": 0.5}
STREAM_CREATED = 1_783_175_888.0  # 2026-07-04T14:38:08Z, the synthetic capture's createdAt


@pytest.fixture
def seeded(tmp_path: Path) -> tuple[Path, Seed]:
    db = tmp_path / "gitfeed.db"
    seed = seed_store(db, 80, THRESHOLDS, created_before=STREAM_CREATED)
    store = open_db(db)
    with store.conn:  # the cursor an empty stream leaves (last served seq 0)
        store.conn.execute("INSERT INTO sub_state (service, cursor, updated_ts) VALUES ('relay', 0, 0)")
    store.close()
    return db, seed


def _sql(db: Path, sql: str, *params: object) -> None:
    store = open_db(db)
    with store.conn:
        store.conn.execute(sql, params)
    store.close()


def test_seed_fills_every_feed_with_real_looking_posts(seeded: tuple[Path, Seed]) -> None:
    db, seed = seeded
    assert len(seed.posts) == 80 and seed.authors == 80 // 6
    # of every 8: 6 GitHub + ML, 1 GitHub only, 1 ML only (12,000 -> 10,500 in github, ml and links)
    assert seed.per_feed == {"github": 70, "ml": 70, "all": 80, "links": 70}
    store = open_db(db)
    rows = store.conn.execute(
        "SELECT author, rkey, cid, text, created_ts, indexed_ts, github_urls, score_github, score_ml"
        " FROM posts"
    ).fetchall()
    store.close()
    now = time.time()
    for author, rkey, cid, text, created, indexed, urls, github, ml in rows:
        assert re.fullmatch(r"did:plc:soakseed[a-z2-7]{16}", author) and len(rkey) == 13
        assert cid.startswith("bafyrei") and text
        assert STREAM_CREATED - OLDEST_HOURS * 3600 - 1 <= created <= STREAM_CREATED - NEWEST_HOURS * 3600 + 1
        assert now - OLDEST_HOURS * 3600 - 60 <= indexed <= now - NEWEST_HOURS * 3600 + 1
        assert (urls != "[]") == (github >= 0.5) and max(github, ml) >= 0.5


def test_seeded_posts_are_known_not_extra(seeded: tuple[Path, Seed]) -> None:
    db, seed = seeded
    result = audit_db(db, Expected(last_seq=0), seeded=seed.posts)
    assert result.ok, result.summary()
    assert result.extra == [] and result.stored_posts == 0 and result.seeded == 80
    assert "80 seeded posts intact" in result.summary()

    unknown = audit_db(db, Expected(last_seq=0))  # without the seeded set they are all extra
    assert not unknown.ok and len(unknown.extra) == 80


def _first(seed: Seed) -> str:
    return sorted(seed.posts)[0]


TAMPER: dict[str, tuple[Callable[[Path, str], None], str]] = {
    "deleted": (lambda db, uri: _sql(db, "DELETE FROM posts WHERE uri = ?", uri), "seeded posts missing: 1"),
    "liked": (
        lambda db, uri: _sql(db, "UPDATE posts SET like_count = like_count + 1 WHERE uri = ?", uri),
        "seeded posts changed: 1",
    ),
    "edited": (
        lambda db, uri: _sql(db, "UPDATE posts SET cid = 'bafyreiother' WHERE uri = ?", uri),
        "seeded posts changed: 1",
    ),
    "stray post by a seeded author": (
        lambda db, uri: _sql(
            db,
            "INSERT INTO posts (uri, cid, author, rkey, created_ts, indexed_ts)"
            " VALUES (?, 'c', ?, 'x', 0, 0)",
            uri.rsplit("/", 1)[0] + "/x",
            uri.split("/")[2],
        ),
        "extra: 1",
    ),
}


@pytest.mark.parametrize("case", list(TAMPER))
def test_audit_fails_when_a_seeded_post_is_touched(seeded: tuple[Path, Seed], case: str) -> None:
    db, seed = seeded
    tamper, problem = TAMPER[case]
    tamper(db, _first(seed))
    result = audit_db(db, Expected(last_seq=0), seeded=seed.posts)
    assert not result.ok
    assert any(p.startswith(problem) for p in result.problems), result.summary()
    if case == "deleted":
        assert result.seeded_missing == [_first(seed)]
        assert "seeded posts: 1 missing, 0 changed of 80" in result.summary()


def test_seed_is_dated_by_the_stream_and_on_by_default(tmp_path: Path) -> None:
    from tests.support.capture_synth import write_synthetic_capture

    capture = tmp_path / "capture.zst"
    write_synthetic_capture(capture, 300, seed=3)
    assert abs(streamed_created_ts(capture) - STREAM_CREATED) < 60
    assert SEED_AUTHOR_PREFIX.startswith("did:plc:")
    assert parse_args([]).seed_posts == DEFAULT_SEED_POSTS
    assert parse_args(["--seed-posts", "0"]).seed_posts == 0
