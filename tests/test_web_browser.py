"""The web page in a real headless browser: Debian's chromium driven by Playwright, uvicorn on 127.0.0.1.

Needs `scripts/setup_web_tests.sh` (chromium + playwright). Screenshots go to $GITFEED_SCREENSHOTS
when set, else to a pytest tmp dir; their paths are printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from feedserver.app import create_app
from tests.support.seed import Post, feed_at, insert_posts, make_db, many_posts, server_settings

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "browser-admin-token"
TARGET = Post(
    "did:plc:target0000000000000000",
    "3ktarget",
    text="Shipping <b>v2</b> of https://github.com/octo/widget today",
    github_urls=["https://github.com/octo/widget"],
    likes=40,
    age_seconds=30,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("GITFEED_SCREENSHOTS")
    path = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def seeded(db_path: Path) -> Path:
    db = make_db(db_path)
    insert_posts(db, [*many_posts(80), TARGET])
    db.conn.execute(
        "INSERT INTO accounts (did, handle, active, updated_ts) VALUES (?, 'octo.dev', 1, ?)",
        (TARGET.author, time.time()),
    )
    db.conn.close()
    return db_path


@pytest.fixture
def base_url(seeded: Path) -> Iterator[str]:
    """The real app with the web router, served by uvicorn in a thread on a free loopback port."""
    settings = server_settings(seeded, admin_token=TOKEN, snapshot_refresh_seconds=1.0)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def context(tmp_path: Path) -> Iterator[object]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright missing: run scripts/setup_web_tests.sh"
    )
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        pytest.skip("Debian's chromium missing: run scripts/setup_web_tests.sh")
    with sync_api.sync_playwright() as playwright:
        browser_context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1200, "height": 900},
        )
        browser_context.set_default_timeout(20_000)
        yield browser_context
        browser_context.close()


def shown(page) -> list[str]:  # noqa: ANN001 - playwright Page
    return page.locator("#posts article.post").evaluate_all("nodes => nodes.map(n => n.dataset.uri)")


def log_in(page, base_url: str) -> None:  # noqa: ANN001
    response = page.goto(base_url + "/admin")
    assert response.status == 401
    page.fill("input[name=token]", TOKEN)
    page.click("form[action='/admin/login'] button")
    page.wait_for_selector("h1:text('Operator view')")
    assert page.url.endswith("/admin")


def test_page_shows_seeded_posts_in_ranked_order(context, base_url: str, screenshots: Path) -> None:  # noqa: ANN001
    page = context.new_page()
    page.goto(base_url + "/")
    skeleton = httpx.get(
        base_url + "/xrpc/app.bsky.feed.getFeedSkeleton", params={"feed": feed_at("github"), "limit": 30}
    ).json()
    expected = [item["post"] for item in skeleton["feed"]]
    assert len(expected) == 30
    assert shown(page) == expected
    card = page.locator(f'article[data-uri="{TARGET.uri}"]')
    assert card.locator(".text").inner_text() == TARGET.text  # markup in the post shows as text
    assert card.locator("b").count() == 0
    assert card.locator(".author").inner_text() == "octo.dev"
    assert card.locator(".gh-name").inner_text().replace(" ", "") == "octo/widget"
    assert (
        card.locator("a.open").get_attribute("href")
        == f"https://bsky.app/profile/{TARGET.author}/post/3ktarget"
    )
    assert page.locator("[data-window='24h'] li[data-repo]").count() > 0
    page.screenshot(path=str(screenshots / "index-desktop.png"), full_page=False)

    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(base_url + "/?feed=links")
    overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page is {overflow}px wider than a phone"
    phone.screenshot(path=str(screenshots / "index-phone.png"))
    print(f"screenshots in {screenshots}")


def test_new_post_appears_without_reload(context, base_url: str, seeded: Path) -> None:  # noqa: ANN001
    page = context.new_page()
    page.goto(base_url + "/")
    page.evaluate("window.__sameDocument = true")
    fresh = Post("did:plc:fresh00000000000000000", "3kfresh", text="just in", likes=900, age_seconds=1)
    db = make_db(seeded)
    insert_posts(db, [fresh])
    db.conn.close()
    page.wait_for_selector(f'#posts article[data-uri="{fresh.uri}"]', timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True
    assert shown(page)[0] == fresh.uri


def test_ban_in_admin_removes_post_from_index(context, base_url: str, screenshots: Path) -> None:  # noqa: ANN001
    page = context.new_page()
    page.goto(base_url + "/")
    assert TARGET.uri in shown(page)
    log_in(page, base_url)
    page.screenshot(path=str(screenshots / "admin.png"))
    page.screenshot(path=str(screenshots / "admin-full.png"), full_page=True)
    page.locator(f'#admin-posts article[data-uri="{TARGET.uri}"] [data-testid="ban-post"]').click()
    page.wait_for_selector(f"text=banned post {TARGET.uri}")
    assert page.locator(f'#admin-posts article[data-uri="{TARGET.uri}"]').count() == 0
    page.goto(base_url + "/")
    assert TARGET.uri not in shown(page)
    assert len(shown(page)) == 30


def test_playground_returns_scores(context, base_url: str, screenshots: Path) -> None:  # noqa: ANN001
    classify = pytest.importorskip("firehose.classify", reason="firehose.classify is not there yet")
    if not hasattr(classify, "build_scorer"):
        pytest.skip("firehose.classify.build_scorer is not there yet")
    page = context.new_page()
    log_in(page, base_url)
    page.fill(
        "#playground-text", "We released github.com/octo/widget: a faster tokenizer for transformer models"
    )
    page.click("form[action='/admin/playground'] button")
    page.wait_for_selector("[data-testid=playground-result]", timeout=120_000)  # first use loads the model
    result = page.locator("[data-testid=playground-result]")
    assert result.locator(".error").count() == 0, result.inner_text()
    scores = {
        row.get_attribute("data-topic"): float(row.locator(".score").inner_text())
        for row in result.locator("tr[data-topic]").all()
    }
    assert set(scores) >= {"github", "ml"}
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert page.url.endswith("/admin")  # answered in place, no navigation
    page.screenshot(path=str(screenshots / "playground.png"), full_page=False)
