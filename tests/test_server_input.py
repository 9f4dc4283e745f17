"""Bad input gets a clear XRPC 400, and nothing from a request reaches SQL but bound parameters."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from feedserver.app import create_app
from feedserver.cursors import CursorCodec, CursorState
from tests.support.seed import PUBLISHER, feed_at, insert_posts, make_db, many_posts, server_settings

SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):
    db_path = tmp_path_factory.mktemp("input") / "gitfeed.db"
    db = make_db(db_path)
    insert_posts(db, many_posts(200))
    db.conn.close()
    with TestClient(create_app(server_settings(db_path, cursor_secret="s3cret-for-tests"))) as test_client:
        test_client.db_path = db_path
        yield test_client


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({"limit": "0"}, "InvalidRequest", "limit must be an integer from 1 to 100"),
        ({"limit": "101"}, "InvalidRequest", "limit must be an integer from 1 to 100"),
        ({"limit": "-1"}, "InvalidRequest", "limit must be an integer from 1 to 100"),
        ({"limit": "abc"}, "InvalidRequest", "limit must be an integer from 1 to 100"),
        ({"limit": "1e2"}, "InvalidRequest", "limit must be an integer from 1 to 100"),
        ({"limit": "٣"}, "InvalidRequest", "limit must be an integer from 1 to 100"),
        ({"feed": None}, "InvalidRequest", "missing required parameter: feed"),
        ({"feed": "github"}, "InvalidRequest", "feed must be an at-uri"),
        ({"feed": "https://bsky.app/profile/x/feed/github"}, "InvalidRequest", "feed must be an at-uri"),
        ({"feed": f"at://{PUBLISHER}/app.bsky.feed.post/github"}, "InvalidRequest", "feed must be an at-uri"),
        ({"feed": feed_at("nosuchfeed")}, "UnknownFeed", "unknown feed"),
        ({"feed": "at://did:plc:someoneelse/app.bsky.feed.generator/github"}, "UnknownFeed", "unknown feed"),
        ({"feed": feed_at("github' OR 1=1 --")}, "UnknownFeed", "unknown feed"),
        ({"cursor": "garbage"}, "InvalidRequest", "malformed cursor"),
        ({"cursor": "x" * 5000}, "InvalidRequest", "cursor is too long"),
        ({"cursor": "1' OR '1'='1"}, "InvalidRequest", "malformed cursor"),
        ({"cursor": "'; DROP TABLE posts; --.x"}, "InvalidRequest", "malformed cursor"),
        ({"cursor": "abc.def"}, "InvalidRequest", "invalid cursor"),
        ({"cursor": "..."}, "InvalidRequest", "malformed cursor"),
    ],
)
def test_bad_parameters(client: TestClient, params: dict, error: str, message: str) -> None:
    query = {"feed": feed_at("github")} | params
    response = client.get(SKELETON, params={k: v for k, v in query.items() if v is not None})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert message in response.json()["message"]
    assert client.get(SKELETON, params={"feed": feed_at("github"), "limit": 1}).status_code == 200


def test_forged_and_foreign_cursors_are_refused(client: TestClient) -> None:
    first = client.get(SKELETON, params={"feed": feed_at("github"), "limit": 5}).json()
    cursor = first["cursor"]
    kid, body, mac = cursor.split(".")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    tampered = base64.urlsafe_b64encode(payload.replace(b",5,", b",0,")).rstrip(b"=").decode() + "." + mac
    tampered = kid + "." + tampered
    assert tampered != cursor
    other_key = CursorCodec(b"another-secret").encode(
        CursorState(feed="github", snapshot_id="x", offset=5, built_ts=0, max_id=1, last_score=1, last_id=1)
    )
    for bad, message in (
        (tampered, "invalid cursor"),
        (other_key, "invalid cursor"),
        (cursor[:-2], "invalid cursor"),
    ):
        response = client.get(SKELETON, params={"feed": feed_at("github"), "cursor": bad})
        assert response.status_code == 400
        assert message in response.json()["message"]
    other_feed = client.get(SKELETON, params={"feed": feed_at("ml"), "cursor": cursor})
    assert other_feed.json()["message"] == "cursor was issued for another feed"


def test_hostile_strings_leave_the_database_intact(client: TestClient) -> None:
    for value in ("'; DELETE FROM posts; --", "\x00", "%' OR 1=1", "did:plc:x' --"):
        client.get(SKELETON, params={"feed": f"at://{value}/app.bsky.feed.generator/github", "cursor": value})
        client.post(
            "/xrpc/app.bsky.feed.sendInteractions",
            json={"interactions": [{"item": f"at://{value}/app.bsky.feed.post/1", "event": value}]},
        )
    db = make_db(client.db_path)
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 200
    db.conn.close()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"interactions": 3}',
        b'{"interactions": [3]}',
        b'{"interactions": [{"item": "https://x", "event": "e"}]}',
        b'{"interactions": [{"item": "at://did:plc:a/app.bsky.feed.post/1", "event": 5}]}',
    ],
)
def test_bad_interactions_body(client: TestClient, body: bytes) -> None:
    response = client.post("/xrpc/app.bsky.feed.sendInteractions", content=body)
    assert response.status_code == 400
    assert response.json()["error"] == "InvalidRequest"


@pytest.mark.parametrize(
    "query",
    [
        b"feed=at%3A%2F%2Fdid%3Aplc%3Ax%2Fapp.bsky.feed.generator%2Fml&limit=5&cursor=abc.def",
        b"feed=at://did:plc:x/app.bsky.feed.generator/ml&limit=&cursor",
        b"a=1&a=2&&b=x+y%20z&c=%E2%9C%93&d=%ZZ&%66eed=q",
        b"",
    ],
)
def test_the_fast_query_parser_reads_what_parse_qsl_reads(query: bytes) -> None:
    from urllib.parse import parse_qsl

    from feedserver.app import parse_query

    assert parse_query(query) == dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
