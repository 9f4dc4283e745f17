"""`gitfeed explain` shows moderation's own rules (feedserver.moderation), not a copy of them."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from feedserver import moderation
from gitfeed.cli import main
from tests.support.seed import Post, insert_posts, make_db, set_account

ALICE = "did:plc:alicealicealicealice00"


def explain(db_path: Path, uri: str) -> list[str]:
    result = CliRunner().invoke(main, ["explain", uri, "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    return [line.strip() for line in result.output.splitlines() if line.strip().startswith("feed ")]


def test_explain_follows_bans_pins_and_inactive_accounts(tmp_path: Path) -> None:
    db_path = tmp_path / "gitfeed.db"
    db = make_db(db_path)
    post = Post(ALICE, "3kexplain0001", score_github=0.9, github_urls=["https://github.com/a/b"])
    insert_posts(db, [post])
    assert "feed github: IN" in explain(db_path, post.uri)

    moderation.ban(db.conn, "author", ALICE, "spam")
    assert "feed github: OUT: the author is banned (spam)" in explain(db_path, post.uri)

    moderation.pin(db.conn, post.uri, "ml")
    lines = explain(db_path, post.uri)
    assert "feed ml: OUT: its scores are under this feed's thresholds" in lines  # a banned pin is not shown
    moderation.unban(db.conn, "author", ALICE)
    assert "feed ml: IN (pinned)" in explain(db_path, post.uri)

    set_account(db, ALICE, active=False, status="deactivated")
    assert "feed github: OUT: the author's account is inactive" in explain(db_path, post.uri)
