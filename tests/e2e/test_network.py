"""The harness itself: the network starts, the AppView indexes what users do, the control channel's
JWTs verify (or not) like Bluesky's, and teardown leaves no process, schema or temp folder."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from atproto import IdResolver
from atproto_server.auth.jwt import verify_jwt
from atproto_server.exceptions import TokenInvalidSignatureError

from .network import Account, LocalNetwork
from .postgres import Postgres

pytestmark = pytest.mark.e2e


def _payload(jwt: str) -> dict:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention text (a stray child would)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def test_appview_indexes_posts_with_link_facets(
    local_network: LocalNetwork, make_account: Callable[[str], Account]
) -> None:
    health = local_network._http.get(f"{local_network.appview_url}/xrpc/_health")
    assert health.status_code == 200
    bob = make_account("bob")
    carol = make_account("carol")
    post = bob.post("a neat repo:", ["https://github.com/bluesky-social/atproto"], langs=["en"])
    reply = carol.post("日本語の返信です", reply_to=post, langs=["ja"])
    like = carol.like(post)
    local_network.process_all()

    response = local_network._http.get(
        f"{local_network.appview_url}/xrpc/app.bsky.feed.getPosts", params={"uris": [post.uri, reply.uri]}
    )
    assert response.status_code == 200
    views = {view["uri"]: view for view in response.json()["posts"]}
    assert views[post.uri]["likeCount"] == 1 and views[post.uri]["replyCount"] == 1
    facet = views[post.uri]["record"]["facets"][0]
    assert facet["features"][0] == {
        "$type": "app.bsky.richtext.facet#link",
        "uri": "https://github.com/bluesky-social/atproto",
    }
    assert views[reply.uri]["record"]["reply"]["parent"]["uri"] == post.uri

    carol.delete(like.uri)
    bob.delete(post.uri)
    local_network.process_all()
    response = local_network._http.get(
        f"{local_network.appview_url}/xrpc/app.bsky.feed.getPosts", params={"uris": [post.uri]}
    )
    assert response.json()["posts"] == []


def test_service_jwts_verify_like_bluesky_and_forged_ones_do_not(
    local_network: LocalNetwork, make_account: Callable[[str], Account]
) -> None:
    bob = make_account("bob")
    feedgen = local_network.register_feedgen_did("http://localhost:1")
    document = local_network._http.get(f"{local_network.plc_url}/{feedgen}").json()
    assert document["service"] == [
        {"id": "#bsky_fg", "type": "BskyFeedGenerator", "serviceEndpoint": "http://localhost:1"}
    ]

    lxm = "app.bsky.feed.getFeedSkeleton"
    real = local_network.service_jwt(bob.did, feedgen, lxm)
    claims = _payload(real)
    assert (claims["iss"], claims["aud"], claims["lxm"], claims["exp"] - claims["iat"]) == (
        bob.did,
        feedgen,
        lxm,
        60,
    )
    resolver = IdResolver(plc_url=local_network.plc_url)

    def signing_key(did: str, force_refresh: bool) -> str:
        return resolver.did.resolve_atproto_key(did, force_refresh)

    assert verify_jwt(real, signing_key, feedgen).iss == bob.did
    forged = local_network.service_jwt(bob.did, feedgen, lxm, forge=True)
    with pytest.raises(TokenInvalidSignatureError):
        verify_jwt(forged, signing_key, feedgen)


def test_takedown_and_deactivation_reach_the_repo_status(
    local_network: LocalNetwork, make_account: Callable[[str], Account]
) -> None:
    carol = make_account("carol")
    dave = make_account("dave")

    def status(did: str) -> dict:
        return local_network._http.get(
            f"{local_network.pds_url}/xrpc/com.atproto.sync.getRepoStatus", params={"did": did}
        ).json()

    assert status(carol.did)["active"] is True
    local_network.takedown(carol.did)
    assert (status(carol.did)["active"], status(carol.did)["status"]) == (False, "takendown")
    dave.deactivate()
    assert (status(dave.did)["active"], status(dave.did)["status"]) == (False, "deactivated")


def test_teardown_leaves_nothing_behind() -> None:
    """A network of its own (with its own PostgreSQL), closed, then searched for leftovers."""
    network = LocalNetwork().start()
    try:
        base_dir = network.base_dir
        node_pid = network.info["pid"]
        postgres: Postgres = network.postgres
        postgres_pid = postgres.postmaster_pid()
        schemas = network.info["schemas"]
        assert schemas == network.schemas
        assert set(schemas) <= set(postgres.schemas())  # they exist while it runs...
        assert _processes_mentioning(str(base_dir))
        assert any(base_dir.iterdir())
    finally:
        report = network.close()
    assert report == {
        "node_exit": 0,
        "node_alive": False,
        "schemas_left": [],  # ...and are dropped before PostgreSQL stops
        "postgres_alive": False,
        "base_dir_left": False,
    }
    assert (
        not Path(f"/proc/{node_pid}").exists() or "Z" in Path(f"/proc/{node_pid}/stat").read_text().split()[2]
    )
    assert postgres_pid and not _processes_mentioning(str(base_dir))
    assert not base_dir.exists()
