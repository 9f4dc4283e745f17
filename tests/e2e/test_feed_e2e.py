"""A Bluesky user subscribes to gitfeed's feeds, on the real local network, end to end.

One scenario for the module, as an operator and users would live it: alice runs `gitfeed run` (ingest
from the PDS's real firehose with the packaged classifier, serve with auth `required` and the local PLC
for key resolution) and `gitfeed publish`; bob and carol post (GitHub links, ML with no link, word
traps, a reply, Japanese) and like; bob opens each feed through his PDS (`app.bsky.feed.getFeed`: PDS ->
AppView -> our getFeedSkeleton with a service JWT -> the AppView hydrates).

The tests run in file order on that one scenario, each building on what the previous ones left: a
deleted post, carol taken down, the latency probes; the last-but-one stops `gitfeed run` with SIGTERM
and the last serves the same database with `gitfeed serve` in auth mode `optional`.
"""

from __future__ import annotations

import math
import signal
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from feedserver.feeds import FEEDS, feed_uri
from firehose.decode.relay import StreamControl, decode_frame
from firehose.events import EngagementCreated, PostUpserted

from .gitfeed_proc import GitfeedProcess, free_port, gitfeed_command, gitfeed_run, gitfeed_serve
from .network import Account, LocalNetwork, PostRef

pytestmark = pytest.mark.e2e

SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"
HALF_LIFE_HOURS = 12.0  # the default FEEDGEN_HALF_LIFE_HOURS
SETTLE_SECONDS = 30.0  # the most any change may take to reach getFeed here (the target is 2 s)
LATENCY_POSTS = 20


@dataclass
class Scenario:
    network: LocalNetwork
    alice: Account
    bob: Account
    carol: Account
    service_did: str
    base_url: str
    port: int
    db: Path
    workdir: Path
    settings: dict[str, str]
    run: GitfeedProcess
    posts: dict[str, PostRef] = field(default_factory=dict)
    likes: dict[str, int] = field(default_factory=dict)  # post name -> likes given
    gone: set[str] = field(default_factory=set)  # post names deleted or taken down
    extra: list[PostRef] = field(default_factory=list)  # the latency posts (links feed), oldest first
    processes: list[GitfeedProcess] = field(default_factory=list)

    def uri(self, feed: str) -> str:
        return feed_uri(self.alice.did, feed)

    def skeleton(self, feed: str, token: str | None = None, **params: Any) -> httpx.Response:
        """getFeedSkeleton straight to our server (what the AppView calls)."""
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.get(
            self.base_url + SKELETON, params={"feed": self.uri(feed), **params}, headers=headers, timeout=10
        )

    def jwt(self, viewer: Account, **kwargs: Any) -> str:
        return self.network.service_jwt(viewer.did, self.service_did, **kwargs)


# What bob and carol post. (name, author, text, links, langs, reply_to). Expected feeds below.
POSTS: list[tuple[str, str, str, list[str], list[str], str | None]] = [
    (
        "gh_cli",
        "bob",
        "I just released v2 of my terminal file manager, written in Rust. Feedback welcome!",
        ["https://github.com/bob-dev/fm"],
        ["en"],
        None,
    ),
    (
        "ml_finetune",
        "bob",
        "Fine-tuning a transformer on 8 GPUs: learning rate warmup finally made the training loss stable",
        [],
        ["en"],
        None,
    ),
    (
        "trap_llm_law",
        "carol",
        "Finally accepted into the LLM program! A master of laws degree in international tax law starts in "
        "September",
        [],
        ["en"],
        None,
    ),
    (
        "gh_orjson",
        "bob",
        "This library makes parsing JSON in Python painless, highly recommend it",
        ["https://github.com/ijl/orjson"],
        ["en"],
        None,
    ),
    (
        "ml_diffusion",
        "carol",
        "Our new paper shows diffusion models memorize small training sets; we study it with "
        "gradient-based attribution",
        [],
        ["en"],
        None,
    ),
    (
        "trap_python",
        "bob",
        "Saw a huge python at the reptile zoo today, the snake swallowed a whole rabbit",
        [],
        ["en"],
        None,
    ),
    (
        "gh_sitegen",
        "carol",
        "Open sourced the static site generator behind my blog, PRs welcome",
        ["https://github.com/carol-codes/sitegen"],
        ["en"],
        None,
    ),
    (
        "trap_fashion",
        "carol",
        "The fashion models on the runway in Paris wore incredible dresses this season",
        [],
        ["en"],
        None,
    ),
    (
        "trap_gitlab",
        "carol",
        "My side project lives here now, moved everything over last weekend",
        ["https://gitlab.com/carol-codes/garden"],
        ["en"],
        None,
    ),
    (
        "reply_fork",
        "carol",
        "Nice one, I starred it. My fork adds mouse support",
        ["https://github.com/carol-codes/fm"],
        ["en"],
        "gh_cli",
    ),
    (
        "gh_japanese",
        "carol",
        "新しいRustのライブラリを公開しました。ぜひ使ってみてください",
        ["https://github.com/carol-codes/kotoba"],
        ["ja"],
        None,
    ),
    (
        "ml_rag",
        "bob",
        "Evaluated three embedding models for retrieval-augmented generation; the smallest one had the "
        "best recall",
        [],
        ["en"],
        None,
    ),
]
GITHUB = {"gh_cli", "gh_orjson", "gh_sitegen", "gh_japanese"}  # the reply and the GitLab link stay out
ML = {"ml_finetune", "ml_diffusion", "ml_rag"}  # no word trap gets in
EXPECTED = {"github": GITHUB, "ml": ML, "all": GITHUB | ML, "links": GITHUB}
# Who likes what: (liker, post). gh_sitegen gets 2, gh_orjson and ml_diffusion 1 each.
LIKES = [("bob", "gh_sitegen"), ("alice", "gh_sitegen"), ("carol", "gh_orjson"), ("bob", "ml_diffusion")]


# --- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario(local_network: LocalNetwork, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    net = local_network
    workdir = tmp_path_factory.mktemp("gitfeed-e2e")
    alice, bob, carol = (net.create_account(f"feed{name}") for name in ("alice", "bob", "carol"))
    port = free_port()
    # The AppView finds our endpoint in this DID document, as it would on the real network.
    service_did = net.register_feedgen_did(f"http://localhost:{port}")
    settings = {
        "FEEDGEN_SERVICE_DID": service_did,
        "FEEDGEN_PUBLISHER_DID": alice.did,
        "FEEDGEN_AUTH_MODE": "required",
        "FEEDGEN_PLC_URL": net.plc_url,
        "FEEDGEN_SNAPSHOT_REFRESH_SECONDS": "0.2",
    }
    db = workdir / "gitfeed.db"
    run = gitfeed_run(
        endpoint=net.pds_url.replace("http://", "ws://"), db=db, port=port, settings=settings, workdir=workdir
    )
    s = Scenario(
        network=net,
        alice=alice,
        bob=bob,
        carol=carol,
        service_did=service_did,
        base_url=f"http://127.0.0.1:{port}",
        port=port,
        db=db,
        workdir=workdir,
        settings=settings,
        run=run,
        processes=[run],
    )
    try:
        started = time.monotonic()
        run.start()
        run.wait_http(s.base_url, timeout=60)
        # Ingest starts at the live tip: nothing may be posted before it is connected.
        run.wait_until(lambda: "relay: connected to" in run.log_text(), "firehose connection", 90)
        print(f"\ngitfeed run ready in {time.monotonic() - started:.1f}s (pid {run.pid})")

        publish_env = {
            **settings,
            "FEEDGEN_PDS_URL": net.pds_url,
            "FEEDGEN_PUBLISH_HANDLE": alice.handle,
            "FEEDGEN_PUBLISH_PASSWORD": net.app_password(alice),
        }
        published = gitfeed_command(["publish"], publish_env, workdir)
        assert published.returncode == 0, published.stdout + published.stderr

        users = {"alice": alice, "bob": bob, "carol": carol}
        for name, author, text, links, langs, reply_to in POSTS:
            reply = s.posts[reply_to] if reply_to else None
            s.posts[name] = users[author].post(text, links, langs=langs, reply_to=reply)
        for liker, name in LIKES:
            users[liker].like(s.posts[name])
            s.likes[name] = s.likes.get(name, 0) + 1
        net.process_all()
        for feed in FEEDS:
            net.wait_for_feed_generator(s.uri(feed))
        yield s
    finally:
        leftovers = {p.args[0]: p.close() for p in s.processes}
        assert not any(leftovers.values()), f"gitfeed processes had to be killed: {leftovers}"


# --- helpers -----------------------------------------------------------------------------------------


def feed_uris(account: Account, feed_at_uri: str, limit: int = 100) -> list[str]:
    return [item.post.uri for item in account.get_feed(feed_at_uri, limit=limit).feed]


def expected_order(s: Scenario, feed: str, names: set[str]) -> list[str]:
    """The URIs of `names` in the order the feed's definition ranks them, from what ingest stored:
    relevance x (1 + ln(1 + likes)) x 2^(-age / half-life); the links feed newest first."""
    uris = {s.posts[name].uri: name for name in names}
    with sqlite3.connect(f"file:{s.db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            f"SELECT id, uri, score_github, score_ml, created_ts, indexed_ts FROM posts "
            f"WHERE uri IN ({','.join('?' * len(uris))})",
            list(uris),
        ).fetchall()
    assert {row[1] for row in rows} == set(uris), "ingest did not store every expected post"
    newest = max(min(row[4], row[5]) for row in rows)
    ranked = []
    for post_id, uri, github, ml, created, indexed in rows:
        ts = min(created, indexed)
        if feed == "links":
            key = ts
        else:
            relevance = {"github": github, "ml": ml, "all": max(github, ml)}[feed]
            engagement = 1.0 + math.log1p(s.likes.get(uris[uri], 0))
            key = relevance * engagement * 2 ** (-(newest - ts) / (HALF_LIFE_HOURS * 3600))
        ranked.append((key, post_id, uri))
    return [uri for _, _, uri in sorted(ranked, reverse=True)]


def wait_for(
    check: Callable[[], Any], what: str, timeout: float = SETTLE_SECONDS, interval: float = 0.1
) -> Any:
    """Poll until check() returns something truthy; on timeout fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = check()
        except Exception as error:  # the AppView answers an error while our feed is not reachable yet
            last = error
        else:
            if last:
                return last
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not after {timeout:.0f}s; last: {last!r}")
        time.sleep(interval)


def wait_for_feed(s: Scenario, feed: str, expected: list[str], timeout: float = SETTLE_SECONDS) -> None:
    """Until bob's getFeed of `feed` is exactly `expected` (URIs, in order)."""
    seen: list[list[str]] = []

    def check() -> bool:
        seen.append(feed_uris(s.bob, s.uri(feed)))
        return seen[-1] == expected

    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            assert seen[-1] == expected, f"feed {feed}: hydrated posts differ from the expected ranking"
        time.sleep(0.1)


def skeleton_uris(s: Scenario, feed: str) -> list[str]:
    """Our getFeedSkeleton, called as the AppView calls it for bob (a freshly minted service JWT)."""
    response = s.skeleton(feed, s.jwt(s.bob), limit="100")
    assert response.status_code == 200, response.text
    return [item["post"] for item in response.json()["feed"]]


def names_of(s: Scenario, uris: list[str]) -> list[str]:
    by_uri = {ref.uri: name for name, ref in s.posts.items()}
    return [by_uri.get(uri, uri) for uri in uris]


# --- the scenario ------------------------------------------------------------------------------------


def test_bob_sees_exactly_the_expected_posts_in_ranked_order(scenario: Scenario) -> None:
    s = scenario
    for feed, names in EXPECTED.items():
        live = names - s.gone
        # Wait for ingest and snapshots on the expected set, then the order must be the ranked one.
        wait_for(
            lambda feed=feed, live=live: set(names_of(s, feed_uris(s.bob, s.uri(feed)))) == live,
            f"feed {feed} has {sorted(live)}",
        )
        wait_for_feed(s, feed, expected_order(s, feed, live))
        got = names_of(s, feed_uris(s.bob, s.uri(feed)))
        print(f"{feed}: {got}")
        if feed != "links":  # the more-liked above: 2 likes, then 1, then the rest
            liked = [name for name in got if name in s.likes]
            assert liked == got[: len(liked)], got
            assert [s.likes[name] for name in liked] == sorted((s.likes[n] for n in liked), reverse=True)
    assert names_of(s, feed_uris(s.bob, s.uri("github")))[0] == "gh_sitegen"
    assert names_of(s, feed_uris(s.bob, s.uri("ml")))[0] == "ml_diffusion"
    # The hydrated view is the AppView's own: like counts and the Japanese text came through.
    views = {item.post.uri: item.post for item in s.bob.get_feed(s.uri("all")).feed}
    assert views[s.posts["gh_sitegen"].uri].like_count == 2
    assert views[s.posts["gh_japanese"].uri].record.text.startswith("新しいRust")


def test_paging_with_the_returned_cursor(scenario: Scenario) -> None:
    s = scenario
    full = feed_uris(s.bob, s.uri("all"))
    pages: list[list[str]] = []
    cursor = None
    while True:
        response = s.bob.get_feed(s.uri("all"), limit=3, cursor=cursor)
        page = [item.post.uri for item in response.feed]
        if page:
            pages.append(page)
        cursor = response.cursor
        if not cursor or not page:
            break
        assert len(pages) < 10, "paging does not end"
    assert [len(page) for page in pages] == [3, 3, 1]
    assert [uri for page in pages for uri in page] == full


def test_the_appview_jwt_is_verified_and_a_forged_one_refused(scenario: Scenario) -> None:
    s = scenario
    before = s.run.log_text()
    feed_uris(s.bob, s.uri("ml"))
    # The server logged bob as the viewer: the JWT the AppView forwarded was verified against bob's
    # key in the local PLC (auth is `required`: an unverified request would have been a 401).
    wait_for(
        lambda: any(
            "route=getFeedSkeleton feed=ml" in line and "status=200" in line and f"viewer={s.bob.did}" in line
            for line in s.run.log_text()[len(before) :].splitlines()
        ),
        "a log line of bob's verified request",
        timeout=5,
    )

    anonymous = s.skeleton("ml")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "AuthenticationRequired"
    forged = s.skeleton("ml", s.jwt(s.bob, forge=True))
    assert forged.status_code == 401, forged.text
    assert forged.json()["error"] == "BadJwtSignature"
    other_audience = s.skeleton("ml", s.network.service_jwt(s.bob.did, s.alice.did))
    assert other_audience.status_code == 401 and other_audience.json()["error"] == "BadJwtAudience"

    genuine = s.skeleton("ml", s.jwt(s.bob))
    assert genuine.status_code == 200, genuine.text
    assert [item["post"] for item in genuine.json()["feed"]] == feed_uris(s.bob, s.uri("ml"))

    # A logged-out reader through the AppView: this server requires a viewer, so the AppView gets a 401.
    refused = s.network.get_feed_anonymous(s.uri("ml"))
    print(f"\nanonymous getFeed of an auth-required feed: {refused.status_code} {refused.text[:300]}")
    assert refused.status_code == 401 and refused.json()["error"] == "AuthenticationRequired", refused.text


def test_a_post_carol_deletes_leaves_the_feed(scenario: Scenario) -> None:
    s = scenario
    s.carol.delete(s.posts["ml_diffusion"].uri)
    s.gone.add("ml_diffusion")
    s.likes.pop("ml_diffusion")
    # Gone from our skeleton, not only hidden by the AppView's hydration (which drops deleted posts).
    for feed in ("ml", "all"):
        wait_for(
            lambda feed=feed: s.posts["ml_diffusion"].uri not in skeleton_uris(s, feed),
            f"the deleted post out of our {feed} skeleton",
        )
        wait_for_feed(s, feed, expected_order(s, feed, EXPECTED[feed] - s.gone))
    with sqlite3.connect(f"file:{s.db}?mode=ro", uri=True) as conn:
        stored = conn.execute("SELECT count(*) FROM posts WHERE uri = ?", [s.posts["ml_diffusion"].uri])
        assert stored.fetchone()[0] == 0


def test_taking_carols_account_down_removes_her_posts(scenario: Scenario) -> None:
    s = scenario
    s.network.takedown(s.carol.did)
    carols = {name for name, author, *_ in POSTS if author == "carol"}
    s.gone |= carols
    for name in carols:
        s.likes.pop(name, None)
    for feed, names in EXPECTED.items():
        wait_for(
            lambda feed=feed: not [uri for uri in skeleton_uris(s, feed) if s.carol.did in uri],
            f"carol's posts out of our {feed} skeleton",
        )
        wait_for_feed(s, feed, expected_order(s, feed, names - s.gone))
    with sqlite3.connect(f"file:{s.db}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT count(*) FROM posts WHERE author = ?", [s.carol.did]).fetchone()[0] == 0
        status = conn.execute("SELECT active, status FROM accounts WHERE did = ?", [s.carol.did]).fetchone()
    assert status == (0, "takendown")


def test_a_deactivated_account_is_hidden_until_it_comes_back(scenario: Scenario) -> None:
    """Deactivation hides (the account may return); only a takedown or deletion removes for good."""
    s = scenario
    dave = s.network.create_account("feeddave")
    post = dave.post(
        "Wrote a tiny tool to sync my dotfiles across machines", ["https://github.com/dave-dev/sync"]
    )
    wait_for(lambda: post.uri in skeleton_uris(s, "github"), "dave's post in our github skeleton")
    wait_for(lambda: post.uri in feed_uris(s.bob, s.uri("github")), "dave's post in bob's github feed")

    dave.deactivate()
    wait_for(lambda: post.uri not in skeleton_uris(s, "github"), "dave's post hidden from our skeleton")
    with sqlite3.connect(f"file:{s.db}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT count(*) FROM posts WHERE uri = ?", [post.uri]).fetchone()[0] == 1

    dave.activate()
    wait_for(lambda: post.uri in feed_uris(s.bob, s.uri("github")), "dave's post back in bob's github feed")
    dave.delete(post.uri)  # leave the feeds as the tests below expect them
    wait_for(lambda: post.uri not in skeleton_uris(s, "github"), "dave's deleted post out of the skeleton")


def percentiles(values: list[float]) -> tuple[float, float]:
    """(p50, p95), nearest-rank p95."""
    ordered = sorted(values)
    return statistics.median(ordered), ordered[math.ceil(0.95 * len(ordered)) - 1]


def _seq_of(ws: Any, record: PostRef, timeout: float = 10.0) -> int:
    """Read a live firehose subscription up to the frame that creates `record` (a post or a like)."""
    repo = record.uri[len("at://") :].split("/", 1)[0]
    deadline = time.monotonic() + timeout
    while True:
        frame = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        for event in decode_frame(frame, max_frame_bytes=10 << 20):
            if isinstance(event, PostUpserted | EngagementCreated) and (event.did, event.rkey) == (
                repo,
                record.rkey,
            ):
                assert event.cursor is not None
                return event.cursor


def test_latency_from_create_record_to_get_feed(scenario: Scenario) -> None:
    """Each probe is posted when the previous one has appeared, so each meets a quiet pipeline: the
    PDS's sequencer (it polls its database, backing off to 1 s when idle), ingest's batch window
    (FEEDGEN_BATCH_MAX_SECONDS, 0.5 s) and classifier, the snapshot refresh (0.2 s here), the AppView.
    Our own subscription to the PDS's firehose splits the figure into the PDS's part and ours."""
    s = scenario
    links = s.uri("links")
    total, pds, ours, committed = [], [], [], []
    with connect(s.network.firehose_url, max_size=None, open_timeout=10) as ws:
        for i in range(LATENCY_POSTS):
            started = time.monotonic()
            ref = s.bob.post(
                f"Probe {i}: my dotfiles and shell scripts", [f"https://github.com/bob-dev/probe{i}"]
            )
            _seq_of(ws, ref)
            on_firehose, on_firehose_wall = time.monotonic(), time.time()
            wait_for(
                lambda ref=ref: ref.uri in feed_uris(s.bob, links, limit=5),
                f"probe {i} in the links feed",
                interval=0.02,
            )
            done = time.monotonic()
            total.append(done - started)
            pds.append(on_firehose - started)
            ours.append(done - on_firehose)
            with sqlite3.connect(f"file:{s.db}?mode=ro", uri=True) as conn:
                (indexed,) = conn.execute("SELECT indexed_ts FROM posts WHERE uri = ?", [ref.uri]).fetchone()
            committed.append(indexed - on_firehose_wall)
            s.extra.append(ref)

    def figures(values: list[float]) -> str:
        p50, p95 = percentiles(values)
        return f"p50 {p50:.2f}s p95 {p95:.2f}s"

    print(
        f"\nlatency createRecord -> getFeed over {len(total)} posts: {figures(total)} max {max(total):.2f}s "
        f"(target p95 <= 2 s)\n  createRecord -> frame on the PDS firehose: {figures(pds)}"
        f"\n  frame -> getFeed (gitfeed + AppView): {figures(ours)}"
        f"\n  frame -> row committed by ingest: {figures(committed)}"
    )
    assert percentiles(total)[1] <= 5.0, total
    # Newest first, all of them, ahead of the scenario's remaining GitHub-link posts.
    got = feed_uris(s.bob, links)
    assert got[:LATENCY_POSTS] == [ref.uri for ref in reversed(s.extra)]
    assert set(got[LATENCY_POSTS:]) == {s.posts[n].uri for n in GITHUB - s.gone}


def _head_seq(firehose_url: str) -> int:
    """The newest seq on the PDS's firehose: replay from the start and take the last frame's."""
    seq = 0
    with connect(firehose_url + "?cursor=0", max_size=None, open_timeout=10) as ws:
        while True:
            try:
                frame = ws.recv(timeout=1.5)
            except TimeoutError:
                return seq
            for event in decode_frame(frame, max_frame_bytes=10 << 20):
                if not isinstance(event, StreamControl) and event.cursor is not None:
                    seq = max(seq, event.cursor)


def test_gitfeed_run_stops_on_sigterm_with_the_cursor_saved(scenario: Scenario) -> None:
    s = scenario
    tree = s.run.watch()
    assert len(tree) >= 3, f"expected run + serve + ingest, got {tree}"
    # A like in flight: once the PDS has sent its frame (seen here on our own subscription), SIGTERM
    # right away, inside ingest's batch window; ingest must commit what it read, with its cursor.
    with connect(s.network.firehose_url, max_size=None, open_timeout=10) as ws:
        like = s.bob.like(s.extra[0])
        like_seq = _seq_of(ws, like)
    seconds = s.run.stop(timeout=30)
    print(f"\ngitfeed run stopped {seconds:.2f}s after SIGTERM")
    assert s.run.proc is not None and s.run.proc.returncode == 0, s.run.log_tail()
    assert seconds <= 10.0, s.run.log_tail()
    assert s.run.leftovers() == [], "a process of gitfeed run outlived it"

    with sqlite3.connect(f"file:{s.db}?mode=ro", uri=True) as conn:
        (cursor,) = conn.execute("SELECT cursor FROM sub_state").fetchone()
        (likes,) = conn.execute("SELECT like_count FROM posts WHERE uri = ?", [s.extra[0].uri]).fetchone()
    assert cursor == like_seq == _head_seq(s.network.firehose_url), "the saved cursor is not the last event"
    assert likes == 1


def test_anonymous_get_feed_works_on_an_auth_optional_server(scenario: Scenario) -> None:
    """The same database and DID served by `gitfeed serve` alone, in mode optional: a logged-out reader
    gets the feed through the AppView, and bob's (verified) view is the same."""
    s = scenario
    assert s.run.proc is not None and s.run.proc.poll() is not None, "needs gitfeed run stopped (test above)"
    serve = gitfeed_serve(
        db=s.db, port=s.port, settings={**s.settings, "FEEDGEN_AUTH_MODE": "optional"}, workdir=s.workdir
    )
    s.processes.append(serve)
    serve.start()
    serve.wait_http(s.base_url, timeout=60)
    expected = expected_order(s, "ml", ML - s.gone)
    response = wait_for(
        lambda: (r := s.network.get_feed_anonymous(s.uri("ml"))).status_code == 200 and r,
        "an anonymous getFeed answered",
    )
    assert [item["post"]["uri"] for item in response.json()["feed"]] == expected
    assert feed_uris(s.bob, s.uri("ml")) == expected
    # Request lines reach the log in bursts (up to half a second later).
    wait_for(
        lambda: "viewer=-" in serve.log_text() and f"viewer={s.bob.did}" in serve.log_text(),
        "log lines of the anonymous and of bob's request",
        timeout=5,
    )
    seconds = serve.stop()
    # uvicorn shuts down gracefully, then re-raises the signal: an exit "by SIGTERM" (systemd's success).
    assert serve.proc is not None and serve.proc.returncode in (0, -signal.SIGTERM), serve.log_tail()
    assert seconds <= 10.0 and "Traceback" not in serve.log_text()
    assert serve.leftovers() == []
