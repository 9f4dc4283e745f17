"""Every response of the server, validated against the lexicons with the atproto SDK's models."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from atproto_client import models
from atproto_client.models.utils import get_or_create
from fastapi.testclient import TestClient

from feedserver.app import create_app
from tests.support.seed import (
    HOSTNAME,
    PUBLISHER,
    Post,
    feed_at,
    insert_posts,
    make_db,
    many_posts,
    pin,
    server_settings,
)

SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"


@pytest.fixture
def client(db_path: Path):
    db = make_db(db_path)
    insert_posts(db, many_posts(300))
    pin(db, "at://did:plc:author0001/app.bsky.feed.post/3kp0000001", "github")
    db.conn.close()
    with TestClient(create_app(server_settings(db_path))) as test_client:
        yield test_client


def validate(body: dict, model: type) -> object:
    return get_or_create(body, model, strict_string_format=True)


@pytest.mark.parametrize("name", ["github", "ml", "all", "links"])
def test_every_page_of_every_feed_matches_the_lexicon(client: TestClient, name: str) -> None:
    cursor, pages = None, 0
    while True:
        params = {"feed": feed_at(name), "limit": 40} | ({"cursor": cursor} if cursor else {})
        response = client.get(SKELETON, params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        parsed = validate(body, models.AppBskyFeedGetFeedSkeleton.Response)
        for item in parsed.feed:
            assert item.post.startswith("at://did:plc:") and "/app.bsky.feed.post/" in item.post
        pages += 1
        cursor = body.get("cursor")
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
    assert pages >= 2


def test_pinned_post_has_the_exact_pin_reason(client: TestClient) -> None:
    body = client.get(SKELETON, params={"feed": feed_at("github"), "limit": 3}).json()
    assert body["feed"][0] == {
        "post": "at://did:plc:author0001/app.bsky.feed.post/3kp0000001",
        "reason": {"$type": "app.bsky.feed.defs#skeletonReasonPin"},
    }
    parsed = validate(body, models.AppBskyFeedGetFeedSkeleton.Response)
    assert isinstance(parsed.feed[0].reason, models.AppBskyFeedDefs.SkeletonReasonPin)
    assert all("reason" not in item for item in body["feed"][1:])
    # Pinned only on its feed.
    ml = client.get(SKELETON, params={"feed": feed_at("ml"), "limit": 3}).json()
    assert all("reason" not in item for item in ml["feed"])


def test_describe_feed_generator(client: TestClient) -> None:
    response = client.get("/xrpc/app.bsky.feed.describeFeedGenerator")
    assert response.status_code == 200
    body = response.json()
    validate(body, models.AppBskyFeedDescribeFeedGenerator.Response)
    assert body["did"] == f"did:web:{HOSTNAME}"
    assert {f["uri"] for f in body["feeds"]} == {feed_at(n) for n in ("github", "ml", "all", "links")}


def test_did_document(client: TestClient) -> None:
    body = client.get("/.well-known/did.json").json()
    assert body["id"] == f"did:web:{HOSTNAME}"
    assert body["service"] == [
        {"id": "#bsky_fg", "type": "BskyFeedGenerator", "serviceEndpoint": f"https://{HOSTNAME}"}
    ]


def test_did_document_is_404_for_another_service_did(db_path: Path) -> None:
    make_db(db_path).conn.close()
    settings = server_settings(db_path, service_did="did:plc:someoneelse")
    with TestClient(create_app(settings)) as client:
        response = client.get("/.well-known/did.json")
    assert response.status_code == 404
    assert response.json()["error"] == "NotFound"


def test_empty_feed_is_one_page_without_cursor(db_path: Path) -> None:
    make_db(db_path).conn.close()
    with TestClient(create_app(server_settings(db_path))) as client:
        body = client.get(SKELETON, params={"feed": feed_at("github")}).json()
    assert body == {"feed": []}
    validate(body, models.AppBskyFeedGetFeedSkeleton.Response)


def test_default_limit_is_50(client: TestClient) -> None:
    body = client.get(SKELETON, params={"feed": feed_at("all")}).json()
    assert len(body["feed"]) == 50


def test_send_interactions_response_matches_the_lexicon(client: TestClient) -> None:
    response = client.post(
        "/xrpc/app.bsky.feed.sendInteractions",
        json={
            "interactions": [
                {"item": Post("did:plc:a", "3k1").uri, "event": "app.bsky.feed.defs#requestLess"}
            ]
        },
    )
    assert response.status_code == 200
    validate(response.json(), models.AppBskyFeedSendInteractions.Response)


def test_health_and_metrics(client: TestClient, db_path: Path) -> None:
    db = make_db(db_path)
    with db.conn:
        db.conn.execute(
            "INSERT INTO sub_state (service, cursor, updated_ts) VALUES ('wss://relay', 42, ?)",
            (time.time() - 5,),
        )
    health = client.get("/xrpc/_health").json()
    assert health["ok"] and health["db"]
    assert health["ingest"][0]["service"] == "wss://relay" and health["ingest"][0]["lag_seconds"] >= 5
    client.get(SKELETON, params={"feed": feed_at("github"), "limit": 5})
    client.get(SKELETON, params={"feed": feed_at("nope")})
    text = client.get("/metrics").text
    assert 'gitfeed_requests_total{feed="github",route="getFeedSkeleton",status="200"} 1.0' in text
    assert 'gitfeed_requests_total{feed="-",route="getFeedSkeleton",status="400"} 1.0' in text
    assert "gitfeed_request_seconds_bucket" in text
    assert 'gitfeed_ingest_lag_seconds{service="wss://relay"}' in text
    assert 'gitfeed_posts_stored{topic="github"} 300.0' in text
    assert 'gitfeed_posts_stored{topic="ml"} 100.0' in text


def test_unknown_xrpc_method_is_501(client: TestClient) -> None:
    response = client.get("/xrpc/app.bsky.feed.getTimeline")
    assert response.status_code == 501
    assert response.json()["error"] == "MethodNotImplemented"


def test_one_log_line_per_request(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="feedserver.requestlog")
    client.get(SKELETON, params={"feed": feed_at("ml"), "limit": 7})
    client.app.state.request_log.flush()  # lines are written in bursts; don't wait for the timer
    lines = [r.getMessage() for r in caplog.records if r.name == "feedserver.requestlog"]
    assert len(lines) == 1
    assert (
        "feed=ml" in lines[0]
        and "limit=7" in lines[0]
        and "status=200" in lines[0]
        and "viewer=-" in lines[0]
    )
    assert PUBLISHER not in lines[0]


@pytest.mark.parametrize(
    ("ages", "limit", "stale"),
    [
        ({"wss://relay": 400}, 300, True),  # ingest stopped committing 400 s ago
        ({"wss://relay": 100}, 300, False),
        ({"wss://old-relay": 90_000, "wss://jetstream": 2}, 300, False),  # the freshest source decides
        ({"wss://relay": 90_000}, 0, False),  # 0: never stale
        ({}, 300, False),  # a server started before ingest wrote anything
    ],
    ids=["stale", "fresh", "switched-source", "off", "no-ingest-yet"],
)
def test_health_says_stale_when_ingest_lags(db_path: Path, ages: dict, limit: float, stale: bool) -> None:
    db = make_db(db_path)
    with db.conn:
        for service, age in ages.items():
            db.conn.execute(
                "INSERT INTO sub_state (service, cursor, updated_ts) VALUES (?, 1, ?)",
                (service, time.time() - age),
            )
    db.conn.close()
    settings = server_settings(db_path, health_max_lag_seconds=limit)
    with TestClient(create_app(settings)) as client:
        response = client.get("/xrpc/_health")
    body = response.json()
    if stale:
        assert response.status_code == 503
        assert body["ok"] is False and body["stale"] is True and body["db"] is True
        assert body["error"] == "ingest last committed 400 s ago (limit 300 s)"
        assert body["ingest"][0]["service"] == "wss://relay"
    else:
        assert response.status_code == 200 and body["ok"] is True and "stale" not in body
