"""Service auth with real keys, a real local PLC-like directory over HTTP, and the real app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from feedserver.app import create_app
from tests.support.seed import Post, feed_at, insert_posts, make_db, server_settings
from tests.support.servicetokens import LXM, SERVICE_DID, VIEWER, Directory, Keypair, b64, make_jwt

SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"


@pytest.fixture
def directory() -> Iterator[Directory]:
    plc = Directory()
    yield plc
    plc.close()


@pytest.fixture
def seeded(db_path: Path) -> Path:
    db = make_db(db_path)
    insert_posts(
        db,
        [Post("did:plc:alice", f"3ka{i:03d}", age_seconds=60 + i, likes=10) for i in range(5)]
        + [Post("did:plc:bob", f"3kb{i:03d}", age_seconds=600 + i) for i in range(5)],
    )
    db.conn.close()
    return db_path


def client_for(db_path: Path, directory: Directory, mode: str = "required") -> TestClient:
    return TestClient(create_app(server_settings(db_path, auth_mode=mode, plc_url=directory.url)))


def get(client: TestClient, token: str | None, **params: object):  # noqa: ANN201
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}
    return client.get(SKELETON, params={"feed": feed_at("github"), **params}, headers=headers)


@pytest.mark.parametrize("alg", ["ES256K", "ES256"])
def test_good_token_is_accepted_with_both_curves(seeded: Path, directory: Directory, alg: str) -> None:
    key = Keypair(alg)
    directory.keys[VIEWER] = key
    with client_for(seeded, directory) as client:
        response = get(client, make_jwt(key))
        assert response.status_code == 200, response.text
        assert len(response.json()["feed"]) == 10
        # aud with the service fragment is the same audience
        assert get(client, make_jwt(key, aud=SERVICE_DID + "#bsky_fg")).status_code == 200
        # the directory answered once: the key is cached
        assert get(client, make_jwt(key)).status_code == 200
    assert directory.requests == [VIEWER]


def _cases(key: Keypair, other: Keypair) -> list[tuple[str, str | None, str]]:
    now = int(time.time())
    good = make_jwt(key)
    head, payload, _ = good.split(".")
    none_header = b64(json.dumps({"typ": "JWT", "alg": "none"}).encode())
    forged_claims = {"iss": VIEWER, "aud": SERVICE_DID, "exp": now + 60, "lxm": LXM, "x": 1}
    forged = b64(json.dumps(forged_claims).encode())
    return [
        ("missing", None, "AuthenticationRequired"),
        ("expired", make_jwt(key, iat=now - 600, exp=now - 300), "JwtExpired"),
        ("wrong aud", make_jwt(key, aud="did:web:other.example.com"), "BadJwtAudience"),
        ("wrong lxm", make_jwt(key, lxm="app.bsky.feed.getTimeline"), "BadJwtLexiconMethod"),
        ("no lxm", make_jwt(key, lxm=None), "BadJwtLexiconMethod"),
        ("wrong signature", make_jwt(other), "BadJwtSignature"),
        (
            "tampered payload",
            f"{head}.{forged}.{good.split('.')[2]}",
            "BadJwtSignature",
        ),
        ("alg none", f"{none_header}.{payload}.", "BadJwtSignature"),
        ("at+jwt", make_jwt(key, header={"typ": "at+jwt"}), "BadJwtType"),
        ("refresh+jwt", make_jwt(key, header={"typ": "refresh+jwt"}), "BadJwtType"),
        ("dpop+jwt", make_jwt(key, header={"typ": "dpop+jwt"}), "BadJwtType"),
        ("garbage", "not-a-jwt", "BadJwt"),
        ("garbage segments", "a.b.c", "BadJwt"),
        ("no exp", make_jwt(key, exp=None), "BadJwt"),
        ("bad iss", make_jwt(key, iss="not a did"), "BadJwtIss"),
        ("unknown iss", make_jwt(key, iss="did:plc:nobodyherenobodyhere2345"), "BadJwtIss"),
    ]


@pytest.mark.parametrize("case", range(16))
def test_bad_tokens_get_401_with_the_reference_name(seeded: Path, directory: Directory, case: int) -> None:
    key, other = Keypair("ES256K"), Keypair("ES256K")
    directory.keys[VIEWER] = key
    name, token, expected = _cases(key, other)[case]
    with client_for(seeded, directory) as client:
        response = get(client, token)
    assert response.status_code == 401, name
    assert response.json()["error"] == expected, (name, response.json())
    assert response.json()["message"]


def test_expiry_has_a_small_leeway(seeded: Path, directory: Directory) -> None:
    key = Keypair("ES256")
    directory.keys[VIEWER] = key
    now = int(time.time())
    with client_for(seeded, directory) as client:
        assert get(client, make_jwt(key, exp=now - 3)).status_code == 200
        assert get(client, make_jwt(key, exp=now - 60)).json()["error"] == "JwtExpired"


def test_rotated_key_is_refetched_once(seeded: Path, directory: Directory) -> None:
    old, new = Keypair("ES256K"), Keypair("ES256")
    directory.keys[VIEWER] = old
    with client_for(seeded, directory) as client:
        assert get(client, make_jwt(old)).status_code == 200
        directory.keys[VIEWER] = new  # the account rotated its key; our cache still has the old one
        assert get(client, make_jwt(new)).status_code == 200
        assert directory.requests == [VIEWER, VIEWER]
        # a token by a key that is not the account's, within a minute of that refresh: refused with
        # no new lookup (a forced refresh runs at most once per issuer per interval)
        for _ in range(5):
            assert get(client, make_jwt(old)).json()["error"] == "BadJwtSignature"
        assert directory.requests == [VIEWER, VIEWER]


def test_optional_mode_allows_anonymous_but_refuses_bad_tokens(seeded: Path, directory: Directory) -> None:
    key = Keypair("ES256K")
    directory.keys[VIEWER] = key
    with client_for(seeded, directory, mode="optional") as client:
        assert get(client, None).status_code == 200
        assert get(client, make_jwt(key, aud="did:web:nope.example")).status_code == 401
        assert get(client, make_jwt(key)).status_code == 200
        assert (
            client.get(
                SKELETON, params={"feed": feed_at("github")}, headers={"authorization": "Basic eDp5"}
            ).status_code
            == 401
        )


def test_off_mode_ignores_tokens(seeded: Path, directory: Directory) -> None:
    with client_for(seeded, directory, mode="off") as client:
        assert get(client, "garbage").status_code == 200
    assert directory.requests == []


def test_viewer_feedback_reaches_ranking(seeded: Path, directory: Directory) -> None:
    """requestLess on alice's post: for this viewer, that post goes and alice's others drop below bob's."""
    key = Keypair("ES256K")
    directory.keys[VIEWER] = key
    with client_for(seeded, directory, mode="optional") as client:
        before = [i["post"] for i in get(client, make_jwt(key)).json()["feed"]]
        assert all("/did:plc:alice/" in uri for uri in before[:5])
        disliked = before[0]
        token = make_jwt(key, lxm="app.bsky.feed.sendInteractions")
        response = client.post(
            "/xrpc/app.bsky.feed.sendInteractions",
            json={
                "interactions": [
                    {"item": disliked, "event": "app.bsky.feed.defs#requestLess", "feedContext": "x"},
                    {"item": before[1], "event": "app.bsky.feed.defs#requestLess"},
                ]
            },
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        after = [i["post"] for i in get(client, make_jwt(key)).json()["feed"]]
        assert disliked not in after and before[1] not in after
        assert all("/did:plc:bob/" in uri for uri in after[:5])
        # another viewer, and an anonymous one, still see the feed as it was
        assert [i["post"] for i in get(client, None).json()["feed"]] == before
        # a cursor issued to this viewer is not valid for someone else
        first = get(client, make_jwt(key), limit=3).json()
        assert get(client, None, cursor=first["cursor"]).json()["error"] == "InvalidRequest"


def test_send_interactions_needs_a_viewer_and_the_right_lxm(seeded: Path, directory: Directory) -> None:
    key = Keypair("ES256K")
    directory.keys[VIEWER] = key
    body = {"interactions": [{"item": "at://did:plc:alice/app.bsky.feed.post/3ka000", "event": "x"}]}
    with client_for(seeded, directory, mode="optional") as client:
        anonymous = client.post("/xrpc/app.bsky.feed.sendInteractions", json=body)
        assert anonymous.status_code == 401 and anonymous.json()["error"] == "AuthenticationRequired"
        wrong = client.post(
            "/xrpc/app.bsky.feed.sendInteractions",
            json=body,
            headers={"authorization": f"Bearer {make_jwt(key)}"},  # lxm is getFeedSkeleton
        )
        assert wrong.json()["error"] == "BadJwtLexiconMethod"


def test_send_interactions_accepts_every_lexicon_valid_body(
    seeded: Path, directory: Directory, db_path: Path
) -> None:
    """The lexicon caps neither the array nor an event's length, and makes item and event optional: a
    valid body is never refused; what can be stored is, the rest is counted."""
    import sqlite3

    key = Keypair("ES256K")
    directory.keys[VIEWER] = key
    post = "at://did:plc:alice/app.bsky.feed.post/3ka000"
    less = "app.bsky.feed.defs#requestLess"
    interactions = [
        {"item": post, "event": less, "reqId": "r1"},
        {"event": "app.bsky.feed.defs#interactionSeen"},  # no item
        {"item": post},  # no event
        {"item": post, "event": "app.bsky.feed.defs#" + "x" * 5000},  # a long (unknown) event
        {"item": post, "event": "com.example.future#newKind"},  # unknown events are stored as sent
        {},
        *({"item": f"at://did:plc:bob/app.bsky.feed.post/3kb{i:03d}", "event": "seen"} for i in range(150)),
    ]
    token = make_jwt(key, lxm="app.bsky.feed.sendInteractions")
    with client_for(seeded, directory, mode="optional") as client:
        response = client.post(
            "/xrpc/app.bsky.feed.sendInteractions",
            json={"interactions": interactions},
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {}
        metrics = client.get("/metrics").text
    assert "gitfeed_interactions_skipped_total 4.0" in metrics
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT event FROM interactions WHERE viewer = ?", (VIEWER,)).fetchall()
    events = [row[0] for row in rows]
    assert len(events) == 152
    assert events[:2] == [less, "com.example.future#newKind"]
