"""The serving and moderation commands through Click's CliRunner, on a real database file."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from gitfeed.cli import COMMANDS, main
from tests.support.seed import Post, insert_posts, make_db, many_posts


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no stray .env
    return CliRunner()


@pytest.fixture
def seeded(db_path: Path) -> Path:
    db = make_db(db_path)
    insert_posts(db, many_posts(60, authors=6))
    db.conn.close()
    return db_path


def run(runner: CliRunner, *args: str):  # noqa: ANN201
    return runner.invoke(main, list(args), catch_exceptions=False)


def test_commands_are_registered_with_examples() -> None:
    for name in ("serve", "feed", "did-doc", "ban", "unban", "pin", "unpin", "bans", "prune"):
        assert name in COMMANDS
        command = main.get_command(None, name)
        assert "Example: gitfeed " + name in command.help


def test_feed_table_and_json(runner: CliRunner, seeded: Path) -> None:
    table = run(runner, "feed", "github", "--limit", "5", "--db", str(seeded))
    assert table.exit_code == 0, table.output
    assert "score" in table.output and "likes" in table.output
    lines = run(runner, "feed", "github", "--limit", "5", "--json", "--db", str(seeded)).output.splitlines()
    rows = [orjson.loads(line) for line in lines]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4, 5]
    assert all(r["uri"].startswith("at://did:plc:author") for r in rows)
    assert rows[0]["score"] >= rows[-1]["score"]


def test_moderation_round_trip_changes_the_feed(runner: CliRunner, seeded: Path) -> None:
    db = str(seeded)
    first = orjson.loads(run(runner, "feed", "github", "--limit", "1", "--json", "--db", db).output)
    author = first["author"]
    assert run(runner, "ban", "author", author, "--reason", "spam", "--db", db).exit_code == 0
    rows = [orjson.loads(x) for x in run(runner, "feed", "github", "--json", "--db", db).output.splitlines()]
    assert rows and all(r["author"] != author for r in rows)
    target = rows[5]["uri"]
    assert run(runner, "pin", target, "--feed", "github", "--db", db).exit_code == 0
    top = orjson.loads(run(runner, "feed", "github", "--limit", "1", "--json", "--db", db).output)
    assert top["uri"] == target and top["pinned"]
    listed = [orjson.loads(x) for x in run(runner, "bans", "--json", "--db", db).output.splitlines()]
    assert {(r["type"], r["value"]) for r in listed} == {("ban", author), ("pin", target)}
    assert listed[0]["reason"] == "spam"
    assert run(runner, "unban", "author", author, "--db", db).exit_code == 0
    assert run(runner, "unpin", target, "--db", db).exit_code == 0
    assert run(runner, "bans", "--db", db).output.strip() == "no bans or pins"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["feed", "nosuch"], "unknown feed 'nosuch'"),
        (["ban", "author", "not-a-did"], "is not a DID"),
        (["ban", "post", "at://did:plc:x/app.bsky.feed.like/1"], "is not a post at-uri"),
        (["pin", "at://did:plc:x/app.bsky.feed.post/1", "--feed", "nosuch"], "unknown feed 'nosuch'"),
        (["unban", "author", "did:plc:nobody"], "no ban on author did:plc:nobody"),
        (["unpin", "at://did:plc:x/app.bsky.feed.post/1"], "no pin for"),
        (["prune", "--older-than", "soon"], "is not a duration"),
    ],
)
def test_errors_are_one_line_and_non_zero(
    runner: CliRunner, seeded: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(main, [*args, "--db", str(seeded)])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["feed", "github"], ["bans"], ["ban", "author", "did:plc:x"], ["prune"]])
def test_missing_database_is_one_line(runner: CliRunner, tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(main, [*command, "--db", str(tmp_path / "missing.db")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: no database at {tmp_path / 'missing.db'} (run `gitfeed ingest` first, or pass --db)"
    ]
    assert not (tmp_path / "missing.db").exists()


def test_serve_refuses_a_corrupt_database_in_one_line(runner: CliRunner, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"not a database" * 512)
    result = runner.invoke(main, ["serve", "--db", str(corrupt), "--port", "0"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: cannot open database") and "Traceback" not in result.output


def test_serve_creates_a_missing_database_so_it_can_start_before_ingest(tmp_path: Path) -> None:
    """`gitfeed run` on a new machine starts the server before ingest has written anything."""
    import subprocess
    import sys
    import time

    import httpx

    db, port = tmp_path / "new.db", _free_port()
    command = [sys.executable, "-m", "gitfeed.cli", "serve", "--db", str(db), "--port", str(port)]
    server = subprocess.Popen(command, env={**os.environ, "FEEDGEN_LISTENHOST": "127.0.0.1"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/xrpc/_health", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert health.status_code == 200 and health.json()["ok"] is True
        assert db.exists()
    finally:
        server.terminate()
        server.wait(timeout=10)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_did_doc(runner: CliRunner) -> None:
    doc = orjson.loads(run(runner, "did-doc", "--hostname", "feed.example.org").output)
    assert doc["service"][0]["serviceEndpoint"] == "https://feed.example.org"
    result = runner.invoke(main, ["did-doc", "--hostname", "bad/host"])
    assert result.exit_code != 0 and "FEEDGEN_HOSTNAME" in result.output


def test_prune_removes_old_posts(runner: CliRunner, db_path: Path) -> None:
    db = make_db(db_path)
    insert_posts(
        db, [Post("did:plc:a", "3kold", age_seconds=10 * 86400), Post("did:plc:a", "3knew", age_seconds=60)]
    )
    db.conn.close()
    result = run(runner, "prune", "--older-than", "7d", "--db", str(db_path))
    assert result.output.strip() == "pruned 1 posts older than 7d"
    db = make_db(db_path)
    assert [r[0] for r in db.execute("SELECT rkey FROM posts")] == ["3knew"]
    db.conn.close()
