"""Several real `gitfeed serve` processes on one real PostgreSQL (a private cluster of this module's,
so it can be stopped and started again): one ranks and publishes, any one answers any request.

- a cursor made on one server pages on the others, while rows are written, without a repeat or a skip;
- a ban written once applies on every server;
- a PostgreSQL restart: the servers answer from memory while it is down and follow again after, and a
  `gitfeed ingest` running through it ends with exactly the rows of an uninterrupted run;
- the ranking server SIGKILLed: another one ranks within one refresh interval.
"""

from __future__ import annotations

import dataclasses
import itertools
import signal
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from feedserver import cluster
from feedserver.cursors import CursorCodec, load_or_create_secret
from firehose.store.postgres import close_pool
from tests.e2e.postgres import Postgres
from tests.support.capture_synth import write_synthetic_capture
from tests.support.feedservers import SKELETON, FeedServer, start_servers, stop_servers
from tests.support.seed import Post, feed_at, insert_posts, make_db, many_posts
from tests.support.stores import connect
from tests.test_crash_safety import snapshot as store_contents
from tests.test_crash_safety import start as start_ingest

pytestmark = pytest.mark.slow

REFRESH_SECONDS = 1.0
EVENTS = 5000  # the capture ingested through the restart
ENV = {"FEEDGEN_SNAPSHOT_REFRESH_SECONDS": str(REFRESH_SECONDS)}
_names = itertools.count(1)


@pytest.fixture(scope="module")
def pg():
    from tests.support.stores import postgres_missing

    missing = postgres_missing()
    if missing:
        pytest.skip(missing)
    cluster_ = Postgres().start()
    yield cluster_
    cluster_.stop()


def new_database(pg: Postgres) -> str:
    name = f"servers_{next(_names)}"
    pg.psql(f"CREATE DATABASE {name}")
    return f"{pg.url.rsplit('/', 1)[0]}/{name}"


@pytest.fixture(scope="module")
def store(pg: Postgres) -> str:
    url = new_database(pg)
    db = make_db(url)
    insert_posts(db, many_posts(400))
    db.close()
    return url


@pytest.fixture(scope="module")
def directory():
    from tests.support.servicetokens import VIEWER, Directory, Keypair

    plc = Directory()
    plc.keys[VIEWER] = Keypair("ES256K")
    yield plc
    plc.close()


@pytest.fixture(scope="module")
def servers(store: str, directory):
    env = {**ENV, "FEEDGEN_AUTH_MODE": "optional", "FEEDGEN_PLC_URL": directory.url}
    started = start_servers(store, 3, env)
    yield started
    stop_servers(started)
    close_pool(store)


def snapshot_of(store: str, cursor: str, feed: str) -> str:
    with connect(store) as conn:
        codec = CursorCodec(load_or_create_secret(conn, ""))
    return codec.decode(cursor, feed=feed, viewer=None).snapshot_id


def test_a_cursor_pages_across_servers_while_rows_are_written(store: str, servers: list[FeedServer]) -> None:
    stop = threading.Event()

    def write() -> None:  # new posts at the top of the feed, and likes moving the order
        with connect(store) as conn:
            db = SimpleNamespace(conn=conn)
            for n in itertools.count():
                if stop.wait(0.05):
                    return
                insert_posts(db, [Post(author="did:plc:writer", rkey=f"3kw{n:06d}", likes=50, age_seconds=1)])
                conn.execute("UPDATE posts SET like_count = like_count + 3 WHERE id % 7 = ?", (n % 7,))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        time.sleep(REFRESH_SECONDS * 1.5)  # the ranking server has published a snapshot with new rows
        first = servers[0].page("github", 20)
        assert first.status_code == 200
        body = first.json()
        served = [item["post"] for item in body["feed"]]
        sid = snapshot_of(store, body["cursor"], "github")
        turns = itertools.cycle(servers[1:] + servers[:1])
        cursor, pages = body["cursor"], 1
        while cursor:
            time.sleep(0.1)  # slow enough that newer snapshots are published meanwhile
            response = next(turns).page("github", 20, cursor)
            assert response.status_code == 200, response.text
            body = response.json()
            served += [item["post"] for item in body["feed"]]
            cursor, pages = body.get("cursor"), pages + 1
    finally:
        stop.set()
        writer.join(5)
    with connect(store) as conn:
        published = cluster.load(conn, sid)
        newer = conn.execute("SELECT count(*) FROM snapshots WHERE feed = 'github'").fetchone()[0]
    assert published is not None, "the first page's snapshot was published"
    assert newer > 1, "the ranking server published newer snapshots while the reader paged"
    assert len(served) == len(set(served)), "no post served twice"
    assert served == published.uris, "every post of the snapshot, in its order: nothing skipped"
    assert pages > 10


def test_a_ban_on_one_server_applies_on_all(store: str, servers: list[FeedServer]) -> None:
    from click.testing import CliRunner

    from gitfeed.cli import main

    author = "did:plc:author0007"
    assert any(author in item["post"] for item in servers[0].page("all", 100).json()["feed"])
    result = CliRunner().invoke(main, ["ban", "author", author, "--db", store])
    assert result.exit_code == 0, result.output
    started = time.monotonic()
    pending = set(range(len(servers)))
    while pending and time.monotonic() - started < 5:
        for i in list(pending):
            feed = servers[i].page("all", 100).json()["feed"]
            if not any(author in item["post"] for item in feed):
                pending.discard(i)
        time.sleep(0.05)
    assert not pending, f"servers {pending} still serve the banned author after 5 s"
    result = CliRunner().invoke(main, ["unban", "author", author, "--db", store])
    assert result.exit_code == 0, result.output


def test_feedback_sent_to_one_server_applies_on_the_others(servers: list[FeedServer], directory) -> None:
    from feedserver.feedback import REQUEST_LESS
    from tests.support.servicetokens import VIEWER, make_jwt

    def token(lxm: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_jwt(directory.keys[VIEWER], lxm=lxm)}"}

    skeleton = {"feed": feed_at("all"), "limit": 30}
    lxm = "app.bsky.feed.getFeedSkeleton"
    first = servers[1].client.get(SKELETON, params=skeleton, headers=token(lxm)).json()["feed"]
    hidden = first[0]["post"]
    sent = servers[0].client.post(
        "/xrpc/app.bsky.feed.sendInteractions",
        json={"interactions": [{"item": hidden, "event": REQUEST_LESS}]},
        headers=token("app.bsky.feed.sendInteractions"),
    )
    assert sent.status_code == 200, sent.text
    deadline = time.monotonic() + 5
    pending = set(servers[1:])
    while pending and time.monotonic() < deadline:
        for server in list(pending):
            feed = server.client.get(SKELETON, params=skeleton, headers=token(lxm)).json()["feed"]
            if hidden not in [item["post"] for item in feed]:
                pending.discard(server)
        time.sleep(0.1)
    assert not pending, "the viewer's requestLess hides the post on every server"
    anonymous = servers[2].page("all", 30).json()["feed"]
    assert hidden in [item["post"] for item in anonymous], "personalisation is the viewer's alone"


def test_a_cursor_key_rotation_reaches_every_server_and_old_cursors_still_page(
    store: str, servers: list[FeedServer]
) -> None:
    from click.testing import CliRunner

    from gitfeed.cli import main

    before = servers[0].page("github", 10).json()["cursor"]
    result = CliRunner().invoke(main, ["rotate-cursor-secret", "--grace", "1h", "--db", store])
    assert result.exit_code == 0, result.output
    new_kid = result.output.split()[2]
    assert before.split(".")[0] != new_kid
    deadline = time.monotonic() + 5
    pending = set(servers)
    while pending and time.monotonic() < deadline:
        for server in list(pending):
            if server.page("github", 10).json()["cursor"].split(".")[0] == new_kid:
                pending.discard(server)
        time.sleep(0.05)
    assert not pending, "every server signs with the new key"
    for server in servers[1:]:  # the old key still verifies, on the other servers too
        response = server.page("github", 10, before)
        assert response.status_code == 200, response.text
        assert response.json()["cursor"].split(".")[0] == new_kid


def test_serving_and_ingest_survive_a_postgresql_restart(
    tmp_path: Path, pg: Postgres, store: str, servers: list[FeedServer], postgres_cluster
) -> None:
    capture = tmp_path / "synth.bin.zst"
    write_synthetic_capture(capture, n_events=EVENTS, seed=11)
    reference, target = postgres_cluster.database(), new_database(pg)
    make_db(target).close()
    uninterrupted = start_ingest(capture, reference)  # on the session's cluster, which keeps running
    ingest = start_ingest(capture, target)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with connect(target) as conn:
                row = conn.execute("SELECT max(cursor) FROM sub_state").fetchone()
            if row and row[0]:
                break
            time.sleep(0.1)
        close_pool(target)  # this process's pooled connections would only break
        close_pool(store)
        first = servers[0].page("github", 10).json()
        with connect(store) as conn:
            codec = CursorCodec(load_or_create_secret(conn, ""))
        # a cursor whose snapshot (and frame) no server holds: its page needs the store
        nowhere = dataclasses.replace(
            codec.decode(first["cursor"], feed="github", viewer=None), snapshot_id="gone", built_ts=1.0
        )
        pg.halt()
        halted = time.monotonic()
        assert ingest.poll() is None, "ingest was still running when PostgreSQL stopped"
        # Down: every server answers from memory, first pages and a cursor made on another server.
        for server in servers:
            assert server.page("github", 10).status_code == 200
            assert server.page("github", 10, first["cursor"]).status_code == 200
        # ...and one no server holds is answered expired at once (no wait for a connection), so the app
        # reloads from the top, which memory serves.
        asked = time.monotonic()
        refused = servers[1].page("github", 10, codec.encode(nowhere))
        assert refused.status_code == 400 and "expired" in refused.text, refused.text
        assert time.monotonic() - asked < 4.0, "waited for the store (a pool connection takes 5 s to fail)"
        time.sleep(max(0.0, 2.0 - (time.monotonic() - halted)))
        for server in servers:
            assert server.page("all", 5).status_code == 200
        pg.resume()
        assert ingest.wait(120) == 0, ingest.stderr.read().decode()[-2000:]
        log = ingest.stderr.read().decode()
        assert uninterrupted.wait(120) == 0
    finally:
        for process in (ingest, uninterrupted):
            if process.poll() is None:
                process.kill()
    assert "retrying the batch" in log, log[-2000:]
    assert store_contents(target) == store_contents(reference), "exactly-once through the restart"
    # Up again: the links reconnected (a ban applies everywhere) and a server ranks.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not all((s.health() or {}).get("ok") for s in servers):
        time.sleep(0.2)
    assert all((s.health() or {}).get("ok") for s in servers)
    assert sum(s.ranks() for s in servers) == 1
    test_a_ban_on_one_server_applies_on_all(store, servers)


def test_when_the_ranking_server_dies_another_ranks_within_a_refresh(
    store: str, servers: list[FeedServer]
) -> None:
    leaders = [s for s in servers if s.ranks()]
    assert len(leaders) == 1
    others = [s for s in servers if s is not leaders[0]]
    with connect(store) as conn:
        conn.execute("UPDATE posts SET like_count = like_count + 1")  # something to rank
    leaders[0].stop(signal.SIGKILL)
    killed = time.time()
    taken_over = published = None
    while time.time() - killed < 10:
        if taken_over is None and any(s.ranks() for s in others):
            taken_over = time.time() - killed
        with connect(store) as conn:
            newest = conn.execute("SELECT max(published_ts) FROM snapshots").fetchone()[0]
        if newest > killed:
            published = newest - killed
            break
        time.sleep(0.05)
    assert taken_over is not None and published is not None
    assert sum(s.ranks() for s in others) == 1
    print(f"takeover {taken_over:.2f}s, first snapshot published {published:.2f}s after the SIGKILL")
    assert published <= REFRESH_SECONDS + 0.5, f"first snapshot {published:.2f}s after the leader died"
    for server in others:
        assert server.page("github", 10).status_code == 200
