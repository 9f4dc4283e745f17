"""The web page and the operator view over HTTP: a real seeded store (a SQLite file, a PostgreSQL
database), the real app and router."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from feedserver.app import create_app
from feedserver.web.trending import Mention, RepoTrends
from tests.support.seed import Post, feed_at, insert_posts, make_db, many_posts, server_settings
from tests.support.stores import connect

TOKEN = "test-admin-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
SKELETON = "/xrpc/app.bsky.feed.getFeedSkeleton"
EVIL = Post(
    "did:plc:evil000000000000000000",
    "3kevil",
    text='<script>alert("x")</script> <img src=x onerror=alert(1)> see https://github.com/evil/repo',
    github_urls=["https://github.com/evil/repo"],
    likes=50,
)
HANDLED = Post("did:plc:alice00000000000000000", "3kalice", text="hello from alice", likes=20)


ORIGIN = "http://testserver"  # TestClient's own origin: what a browser sends with the site's forms


def build_client(db_path: Path | str, **overrides: object) -> TestClient:
    settings = server_settings(db_path, **{"admin_token": TOKEN, **overrides})
    app = create_app(settings)
    return TestClient(app, headers={"Origin": ORIGIN})


@pytest.fixture
def seeded(store_target: str) -> str:
    db = make_db(store_target)
    insert_posts(db, [*many_posts(120), EVIL, HANDLED])
    db.conn.execute(
        "INSERT INTO accounts (did, handle, active, updated_ts) VALUES (?, 'alice.test', 1, ?)",
        (HANDLED.author, time.time()),
    )
    db.conn.close()
    return store_target


@pytest.fixture
def client(seeded: str):
    with build_client(seeded) as test_client:
        yield test_client


def shown_uris(html: str) -> list[str]:
    return re.findall(r'<article class="post[^"]*" data-uri="([^"]+)"', html)


def bans(target: str) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute("SELECT kind, value, reason FROM bans ORDER BY kind, value").fetchall()


@pytest.mark.parametrize("name", ["github", "ml", "all", "links"])
def test_index_shows_what_subscribers_get_in_order(client: TestClient, name: str) -> None:
    page = client.get("/", params={"feed": name, "limit": 40})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    skeleton = client.get(SKELETON, params={"feed": feed_at(name), "limit": 40}).json()
    expected = [item["post"] for item in skeleton["feed"]]
    assert len(expected) >= 20
    assert shown_uris(page.text) == expected


def test_post_text_is_escaped(client: TestClient) -> None:
    html = client.get("/").text
    assert EVIL.uri in shown_uris(html)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/web/static/app.js" defer>']
    assert "<img" not in html
    assert "'self'" in client.get("/").headers["content-security-policy"]


def test_post_card_links_handle_and_github_repo(client: TestClient) -> None:
    html = client.get("/", params={"feed": "links", "limit": 100}).text
    assert f'href="https://bsky.app/profile/{EVIL.author}/post/{EVIL.rkey}"' in html
    assert 'href="https://github.com/evil/repo"' in html
    assert '<span class="gh-owner">evil</span> / <strong>repo</strong>' in html
    assert '<a href="https://github.com/evil/repo" dir="ltr" rel="nofollow noopener" target="_blank">' in html
    everything = client.get("/", params={"feed": "github", "limit": 100}).text
    assert ">alice.test</a>" in everything
    assert f">{EVIL.author}</a>" in everything  # no handle known: the DID


def test_no_assets_from_other_hosts(client: TestClient) -> None:
    html = client.get("/").text
    assert not re.search(r'<(script|link)[^>]+(src|href)="(https?:)?//', html)
    script = client.get("/web/static/app.js")
    assert script.status_code == 200 and "fetch(" in script.text
    assert client.get("/web/static/style.css").headers["content-type"].startswith("text/css")
    assert client.get("/web/static/..%2Fqueries.py").status_code == 404


def test_unknown_feed_and_odd_limits(client: TestClient) -> None:
    assert client.get("/", params={"feed": "nope"}).status_code == 404
    assert len(shown_uris(client.get("/", params={"limit": "5"}).text)) == 5
    assert len(shown_uris(client.get("/", params={"limit": "500"}).text)) == 100
    assert len(shown_uris(client.get("/", params={"limit": "x"}).text)) == 30


def test_fragment_polls_with_version(client: TestClient, seeded: str) -> None:
    first = client.get("/web/posts", params={"feed": "github"})
    assert first.status_code == 200 and first.headers["x-version"]
    assert shown_uris(first.text) == shown_uris(client.get("/").text)
    same = client.get("/web/posts", params={"feed": "github", "since": first.headers["x-version"]})
    assert same.status_code == 204
    client.post("/admin/moderate", data={"action": "ban", "kind": "post", "value": EVIL.uri}, headers=BEARER)
    changed = client.get("/web/posts", params={"feed": "github", "since": first.headers["x-version"]})
    assert changed.status_code == 200 and EVIL.uri not in shown_uris(changed.text)


def test_new_posts_reach_the_fragment(client: TestClient, seeded: str) -> None:
    client.get("/web/posts", params={"feed": "github"})
    fresh = Post("did:plc:fresh00000000000000000", "3kfresh", text="brand new", likes=500, age_seconds=1)
    db = make_db(seeded)
    insert_posts(db, [fresh])
    db.conn.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the service rebuilds its snapshot in the background
        if fresh.uri in shown_uris(client.get("/web/posts", params={"feed": "github"}).text):
            break
        time.sleep(0.1)
    assert shown_uris(client.get("/web/posts", params={"feed": "github"}).text)[0] == fresh.uri


# --- the operator view ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/admin", None),
        ("GET", "/admin/figures", None),
        ("POST", "/admin/moderate", {"action": "ban", "kind": "post", "value": EVIL.uri}),
        ("POST", "/admin/playground", {"text": "hello"}),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"X-Admin-Token": "wrong"}, {"Cookie": "gitfeed_admin=" + TOKEN}],
)
def test_admin_refuses_without_the_token(
    client: TestClient, seeded: str, method: str, path: str, data: dict | None, headers: dict
) -> None:
    response = client.request(method, path, data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 401
    assert 'action="/admin/login"' in response.text
    assert bans(seeded) == []


def test_admin_is_off_without_a_configured_token(seeded: str) -> None:
    with build_client(seeded, admin_token="") as client:
        for headers in ({}, {"Authorization": "Bearer "}, {"X-Admin-Token": ""}):
            assert client.get("/admin", headers=headers).status_code == 403
        assert client.post("/admin/login", data={"token": ""}).status_code == 403


def test_login_sets_a_cookie_that_opens_admin(client: TestClient) -> None:
    assert client.post("/admin/login", data={"token": "nope"}).status_code == 401
    response = client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = response.cookies["gitfeed_admin"]
    assert TOKEN not in cookie
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=strict" in response.headers["set-cookie"].lower()
    page = client.get("/admin")
    assert page.status_code == 200 and "Operator view" in page.text
    client.post("/admin/logout")
    assert client.get("/admin").status_code == 401


def test_logout_revokes_the_session_cookie(client: TestClient) -> None:
    """A cookie copied before logout (a stolen one) opens nothing after it."""
    login = client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False)
    session = login.cookies["gitfeed_admin"]
    client.cookies.clear()
    assert client.get("/admin", cookies={"gitfeed_admin": session}).status_code == 200
    other = client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False).cookies
    other = other["gitfeed_admin"]
    assert other != session  # each login is its own random session
    client.cookies.clear()
    client.post("/admin/logout", cookies={"gitfeed_admin": session})
    assert client.get("/admin", cookies={"gitfeed_admin": session}).status_code == 401
    assert client.get("/admin", cookies={"gitfeed_admin": other}).status_code == 200
    # a cookie that is not a session, say the old HMAC form, opens nothing either
    assert client.get("/admin", cookies={"gitfeed_admin": "0" * 64}).status_code == 401


def test_changing_the_token_ends_every_session(seeded: str) -> None:
    with build_client(seeded) as client:
        session = client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False).cookies[
            "gitfeed_admin"
        ]
    with build_client(seeded, admin_token="a-new-token") as client:
        assert client.get("/admin", cookies={"gitfeed_admin": session}).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver.attacker.example"},
        {"Origin": None, "Referer": "https://attacker.example/page"},
        {"Origin": None},  # no Origin and no Referer: not known to be ours
    ],
    ids=["foreign", "null", "lookalike", "foreign-referer", "none"],
)
@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/admin/moderate", {"action": "ban", "kind": "post", "value": EVIL.uri}),
        ("/admin/playground", {"text": "hello"}),
        ("/admin/logout", {}),
        ("/admin/login", {"token": TOKEN}),
    ],
)
def test_admin_posts_from_another_site_are_refused(
    client: TestClient, seeded: str, headers: dict, path: str, data: dict
) -> None:
    """A page elsewhere cannot make the operator's browser ban, unpin, log out or log in."""
    client.post("/admin/login", data={"token": TOKEN})  # the operator is logged in: the cookie is sent
    if headers.get("Origin", "") is None:
        del client.headers["Origin"]
        headers = {k: v for k, v in headers.items() if v is not None}
    response = client.post(path, data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 403
    assert bans(seeded) == []
    assert client.get("/admin").status_code == 200  # still logged in: logout was refused too


def test_same_site_posts_and_header_tokens_pass_the_origin_check(client: TestClient, seeded: str) -> None:
    form = {"action": "ban", "kind": "post", "value": EVIL.uri}
    del client.headers["Origin"]
    # a script with the token in a header needs no Origin: no page can make a browser send that header
    scripted = client.post("/admin/moderate", data=form, headers=BEARER, follow_redirects=False)
    assert scripted.status_code == 303
    assert client.post(
        "/admin/moderate",
        data={**form, "action": "unban"},
        headers={"Referer": ORIGIN + "/admin"},
        cookies={"gitfeed_admin": "none"},
        follow_redirects=False,
    ).status_code == 401  # same site by Referer, then the cookie is checked: not a session
    assert [b[1] for b in bans(seeded)] == [EVIL.uri]


def test_login_is_throttled_per_address(client: TestClient) -> None:
    """Five wrong tokens a minute from one address; then even the right one waits."""
    for _ in range(5):
        assert client.post("/admin/login", data={"token": "guess"}).status_code == 401
    blocked = client.post("/admin/login", data={"token": TOKEN}, follow_redirects=False)
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) >= 1
    # guessing through the header is the same door
    assert client.get("/admin", headers=BEARER).status_code == 429


def test_wrong_header_tokens_count_against_the_throttle(client: TestClient) -> None:
    for _ in range(5):
        assert client.get("/admin", headers={"Authorization": "Bearer guess"}).status_code == 401
    assert client.get("/admin", headers=BEARER).status_code == 429


def test_the_throttle_forgets_after_its_window() -> None:
    from feedserver.web.admin import LoginThrottle

    now = [1000.0]
    throttle = LoginThrottle(max_failures=2, window=60, max_clients=2, clock=lambda: now[0])
    throttle.failed("a")
    throttle.failed("a")
    assert throttle.retry_after("a") == 60
    now[0] += 61
    assert throttle.retry_after("a") == 0
    for client in ("b", "c", "d"):
        throttle.failed(client)
        throttle.failed(client)
    assert throttle.retry_after("b") == 0  # the oldest address was forgotten: memory stays bounded
    assert throttle.retry_after("d") > 0


@pytest.mark.parametrize(
    ("char", "encoded"),
    [
        ("\u202e", "%E2%80%AE"),  # RIGHT-TO-LEFT OVERRIDE: "github.com/a\u202emoc.evil" reads as another host
        ("\u2066", "%E2%81%A6"),  # LEFT-TO-RIGHT ISOLATE
        ("\u200f", "%E2%80%8F"),  # RIGHT-TO-LEFT MARK
        ("\u200b", "%E2%80%8B"),  # ZERO WIDTH SPACE
        ("\ufeff", "%EF%BB%BF"),  # ZERO WIDTH NO-BREAK SPACE
        ("\x7f", "%7F"),  # a C0/C1 control
    ],
)
def test_linkify_neutralizes_bidi_and_control_characters(char: str, encoded: str) -> None:
    from feedserver.web.render import linkify

    html = str(linkify(f"see https://github.com/owner/repo{char}gpj.exe and github.com/x{char}y now"))
    assert char not in html
    assert f'href="https://github.com/owner/repo{encoded}gpj.exe" dir="ltr"' in html
    assert f">https://github.com/owner/repo{encoded}gpj.exe</a>" in html
    assert f'href="https://github.com/x{encoded}y"' in html


def test_linkify_keeps_non_ascii_letters_in_links() -> None:
    from feedserver.web.render import linkify

    assert ">https://example.com/café</a>" in str(linkify("https://example.com/café"))


def test_admin_page_shows_ingest_figures_and_chart(client: TestClient, seeded: str) -> None:
    with connect(seeded) as conn:
        conn.execute(
            "INSERT INTO sub_state (service, cursor, updated_ts) VALUES ('wss://relay.test', 4242, ?)",
            (time.time() - 3,),
        )
        conn.execute("INSERT INTO counters VALUES ('events_seen', 1000), ('posts_seen', 400)")
    client.get("/admin/figures", headers=BEARER)
    with connect(seeded) as conn:
        conn.execute("UPDATE counters SET value = value + 500 WHERE name = 'events_seen'")
    time.sleep(0.2)
    html = client.get("/admin", headers=BEARER).text
    assert "wss://relay.test" in html and "4242" in html
    lag = float(re.search(r'data-lag="([0-9.]+)"', html).group(1))
    assert 2.5 <= lag < 60
    events_per_second = re.search(r'data-figure="events">([^<]+)<', html).group(1)
    assert float(events_per_second.replace(",", "")) > 0
    assert "<dt>posts stored</dt><dd>122</dd>" in html
    assert "not loaded (loads on first use)" in html  # the classifier loads on first playground use only
    points = re.search(r'class="series-github"[^>]*points="([^"]+)"', html).group(1).split()
    assert len(points) == 7 * 24
    assert any(not p.endswith(",120.0") for p in points)  # some hour has kept posts


def test_ban_via_admin_removes_post_from_index(client: TestClient, seeded: str) -> None:
    assert EVIL.uri in shown_uris(client.get("/").text)
    response = client.post(
        "/admin/moderate",
        data={"action": "ban", "kind": "post", "value": EVIL.uri, "reason": "xss", "back": "/"},
        headers=BEARER,
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"].startswith("/?")
    assert bans(seeded) == [("post", EVIL.uri, "xss")]
    assert EVIL.uri not in shown_uris(client.get("/").text)
    skeleton = client.get(SKELETON, params={"feed": feed_at("github"), "limit": 100}).json()
    assert EVIL.uri not in [item["post"] for item in skeleton["feed"]]
    client.post(
        "/admin/moderate", data={"action": "unban", "kind": "post", "value": EVIL.uri}, headers=BEARER
    )
    assert bans(seeded) == [] and EVIL.uri in shown_uris(client.get("/").text)


def test_admin_ban_writes_the_same_row_as_the_cli(client: TestClient, seeded: str) -> None:
    from gitfeed.cli.moderate import ban

    result = CliRunner().invoke(ban, ["author", HANDLED.author, "--reason", "spam", "--db", str(seeded)])
    assert result.exit_code == 0, result.output
    cli_row = bans(seeded)
    client.post(
        "/admin/moderate", data={"action": "unban", "kind": "author", "value": HANDLED.author}, headers=BEARER
    )
    assert bans(seeded) == []
    url = f"https://bsky.app/profile/alice.test/post/{HANDLED.rkey}"  # by handle, resolved to the DID
    client.post(
        "/admin/moderate",
        data={"action": "ban", "kind": "author", "value": HANDLED.author, "reason": "spam"},
        headers=BEARER,
    )
    assert bans(seeded) == cli_row
    assert HANDLED.uri not in shown_uris(client.get("/", params={"limit": 100}).text)
    client.post("/admin/moderate", data={"action": "ban", "kind": "post", "value": url}, headers=BEARER)
    assert ("post", HANDLED.uri, "") in bans(seeded)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "ban", "kind": "post", "value": "not a uri"}, "is not a post at-uri"),
        ({"action": "ban", "kind": "author", "value": "bob"}, "is not a DID"),
        (
            {"action": "ban", "kind": "post", "value": "https://bsky.app/profile/nobody.test/post/3k"},
            "unknown handle",
        ),
        ({"action": "pin", "value": EVIL.uri, "feed": "nope"}, "unknown feed"),
        ({"action": "explode", "value": EVIL.uri}, "unknown action"),
    ],
)
def test_admin_rejects_bad_moderation_input(client: TestClient, seeded: str, data: dict, error: str) -> None:
    response = client.post("/admin/moderate", data=data, headers=BEARER)
    assert response.status_code == 400
    assert error in response.text
    assert bans(seeded) == []


def test_pin_via_admin_puts_post_first(client: TestClient) -> None:
    target = many_posts(120)[100]
    client.post(
        "/admin/moderate", data={"action": "pin", "value": target.uri, "feed": "github"}, headers=BEARER
    )
    html = client.get("/").text
    assert shown_uris(html)[0] == target.uri
    assert '<span class="rank">pinned</span>' in html
    assert shown_uris(client.get("/", params={"feed": "ml"}).text)[0] != target.uri
    client.post(
        "/admin/moderate", data={"action": "unpin", "value": target.uri, "feed": "github"}, headers=BEARER
    )
    assert shown_uris(client.get("/").text)[0] != target.uri


def test_admin_cookie_shows_moderation_buttons_on_index(client: TestClient) -> None:
    assert 'data-testid="ban-post"' not in client.get("/").text
    client.post("/admin/login", data={"token": TOKEN})
    assert 'data-testid="ban-post"' in client.get("/").text


def test_playground_scores_with_the_link_rule(seeded: str) -> None:
    scoring = pytest.importorskip("firehose.scoring", reason="firehose.scoring (LinkScorer) is not there yet")
    settings = server_settings(seeded, admin_token=TOKEN)
    app = create_app(settings, scorer_factory=lambda s: scoring.LinkScorer())
    with TestClient(app) as client:
        html = client.post(
            "/admin/playground", data={"text": "new release github.com/pallets/flask"}, headers=BEARER
        ).text
        assert re.search(r'data-topic="github"><td>github</td><td class="score">1.000<', html)
        assert re.search(r'data-testid="playground-feeds">github, all, links<', html)
        fragment = client.post(
            "/admin/playground", data={"text": "<b>no links</b>"}, headers={**BEARER, "X-Fragment": "1"}
        ).text
        assert "none (ingest would not keep it)" in fragment and "<html" not in fragment


# --- trending ------------------------------------------------------------------------------------


def trending(html: str) -> dict[str, list[tuple[str, int]]]:
    """{window: [(repo, count), ...]} as the page lists them."""
    result = {}
    for window, body in re.findall(r'data-window="([^"]+)">(.*?)</section>', html, re.S):
        result[window] = [
            (repo, int(count))
            for repo, count in re.findall(
                r'data-repo="([^"]+)">.*?<span class="count">(\d+) post', body, re.S
            )
        ]
    return result


def linking(repo: str, n: int, age_seconds: float, prefix: str, author: str = "did:plc:t{}") -> list[Post]:
    return [
        Post(
            author.format(i),
            f"3k{prefix}{i}",
            text=f"look {repo}",
            age_seconds=age_seconds,
            github_urls=[f"https://github.com/{repo}"],
        )
        for i in range(n)
    ]


def test_trending_counts_per_window(db_path: Path) -> None:
    db = make_db(db_path)
    day = 86400
    posts = (
        linking("a/hot", 3, 600, "ah")
        + linking("a/hot", 2, 3 * day, "ao")
        + linking("b/warm", 2, 3600, "bw")
        + linking("c/old", 4, 3 * day, "co")
        + linking("d/ancient", 5, 8 * day, "da")
    )
    insert_posts(db, posts)
    with build_client(db_path) as client:
        assert trending(client.get("/").text) == {
            "24h": [("a/hot", 3), ("b/warm", 2)],
            "7d": [("a/hot", 5), ("c/old", 4), ("b/warm", 2)],
        }
        html = client.get("/").text
        hot = html[html.index('data-repo="a/hot"') : html.index('data-repo="b/warm"')]
        assert hot.count("look a/hot") == 3 and hot.count('href="https://bsky.app/profile/did:plc:t') == 3

        # New posts are added incrementally; a banned author's mentions stop counting.
        insert_posts(db, linking("b/warm", 2, 60, "bn", author="did:plc:new{}"))
        client.post(
            "/admin/moderate", data={"action": "ban", "kind": "author", "value": "did:plc:t0"}, headers=BEARER
        )
        expected = {"24h": [("b/warm", 3), ("a/hot", 2)], "7d": [("a/hot", 3), ("b/warm", 3), ("c/old", 3)]}
        deadline = time.monotonic() + 10
        while trending(client.get("/").text) != expected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert trending(client.get("/").text) == expected
    db.conn.close()


def test_repo_trends_expire_and_count_each_post_once() -> None:
    trends = RepoTrends()
    now = 1_000_000.0
    trends.add(Mention(1, "at://a/app.bsky.feed.post/1", "did:a", now - 100), ["x/y", "x/y", "z/w"], now)
    trends.add(Mention(2, "at://b/app.bsky.feed.post/2", "did:b", now - 86000), ["x/y"], now)
    assert [(r.repo, r.count) for r in trends.top("24h", 5, now)] == [("x/y", 2), ("z/w", 1)]
    trends.expire(now + 500)
    assert [(r.repo, r.count) for r in trends.top("24h", 5, now + 500)] == [("x/y", 1), ("z/w", 1)]
    assert [(r.repo, r.count) for r in trends.top("7d", 5, now + 500)] == [("x/y", 2), ("z/w", 1)]
    assert [m.post_id for m in trends.top("7d", 1, now + 500)[0].examples] == [2, 1]  # newest stored first
