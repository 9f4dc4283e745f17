"""Cursor keys: each cursor names its key; a rotation (`gitfeed rotate-cursor-secret`) signs with a new
secret at once on the running server and keeps old cursors valid for the grace period, then not."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from feedserver.app import create_app
from feedserver.cursors import (
    CursorCodec,
    CursorKey,
    CursorState,
    InvalidCursorError,
    key_id,
    load_keys,
    parse_keys,
)
from gitfeed.cli import main
from tests.support.seed import feed_at, insert_posts, make_db, many_posts, server_settings
from tests.support.stores import connect

SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"
STATE = CursorState(
    feed="github", snapshot_id="s", offset=5, built_ts=1.0, max_id=9, last_score=1.0, last_id=3
)


def test_a_cursor_names_its_key_and_a_retired_key_verifies_until_its_time() -> None:
    now = [100.0]
    old = CursorCodec(b"old")
    token = old.encode(STATE)
    assert token.startswith(key_id(b"old") + ".")
    rotated = CursorCodec([CursorKey(b"new"), CursorKey(b"old", until=160.0)], clock=lambda: now[0])
    assert rotated.decode(token, feed="github", viewer=None) == STATE
    assert rotated.encode(STATE).startswith(key_id(b"new") + ".")
    legacy = token.split(".", 1)[1]  # a cursor made before key ids: checked against every valid key
    assert rotated.decode(legacy, feed="github", viewer=None) == STATE
    now[0] = 161.0
    for expired in (token, legacy):
        with pytest.raises(InvalidCursorError, match="invalid cursor"):
            rotated.decode(expired, feed="github", viewer=None)


def test_a_configured_secret_rotates_as_new_comma_old() -> None:
    keys = parse_keys("new-secret,old-secret", None)
    codec = CursorCodec(keys)
    assert codec.key_id == key_id(b"new-secret")
    assert codec.decode(CursorCodec(b"old-secret").encode(STATE), feed="github", viewer=None) == STATE


def test_rotation_on_a_running_server_keeps_old_cursors_paging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "gitfeed.db"
    db = make_db(db_path)
    insert_posts(db, many_posts(60))
    db.conn.close()
    monkeypatch.delenv("FEEDGEN_CURSOR_SECRET", raising=False)
    with TestClient(create_app(server_settings(db_path))) as client:
        first = client.get(SKELETON, params={"feed": feed_at("github"), "limit": 10}).json()
        with connect(db_path) as conn:
            before = load_keys(conn, "")[0][0]
        result = CliRunner().invoke(main, ["rotate-cursor-secret", "--grace", "1h", "--db", str(db_path)])
        assert result.exit_code == 0, result.output
        with connect(db_path) as conn:
            keys, stored = load_keys(conn, "")
        assert stored and keys[0].secret != before.secret and keys[1].secret == before.secret
        assert first["cursor"].split(".")[0] == key_id(before.secret)
        second = client.get(
            SKELETON, params={"feed": feed_at("github"), "limit": 10, "cursor": first["cursor"]}
        )
        assert second.status_code == 200, second.text
        assert second.json()["cursor"].split(".")[0] == key_id(keys[0].secret)
        served = [i["post"] for i in first["feed"]] + [i["post"] for i in second.json()["feed"]]
        assert len(set(served)) == 20
