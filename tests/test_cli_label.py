"""`gitfeed label` and `gitfeed backtest` through CliRunner, on real SQLite files and real captures."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from firehose.store import labels
from firehose.store.schema import open_db
from gitfeed.cli import main
from tests.support import framegen as fg
from tests.support.capture_synth import write_synthetic_capture
from tests.support.seed import Post, insert_posts, make_db
from tests.support.stories import ALICE, BOB, write_capture

CARD = {
    "$type": "app.bsky.embed.external",
    "external": {"uri": "https://arxiv.org/abs/1", "title": "A paper"},
}


def queued_db(db_path: Path) -> list[str]:
    db = make_db(db_path)
    insert_posts(db, [Post(BOB, "3kstored", text="stored, never queued", score_ml=0.7)])
    posts = [
        labels.QueuedPost(
            f"at://{ALICE}/app.bsky.feed.post/3k{i}", {"text": f"post {i}", "embed": CARD}, reason, s
        )
        for i, (reason, s) in enumerate(
            [
                ("uncertain", {"github": 0.0, "ml": 0.45}),
                ("recent_admission", {"github": 1.0, "ml": 0.0}),
                ("show_less", {"github": 0.0, "ml": 0.9}),
            ]
        )
    ]
    with db.atomic():
        labels.enqueue(db.conn, posts, 100, now=1.0)
    db.close()
    return [post.uri for post in posts]


def run(*args: str, input: str | None = None):  # noqa: ANN201, A002
    result = CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)
    return result


def test_label_list_json_shows_the_queue_in_order(db_path: Path) -> None:
    uris = queued_db(db_path)
    result = run("label", "--list", "--json", "--db", str(db_path))
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["counts"] == {"show_less": 1, "uncertain": 1, "recent_admission": 1}
    assert [item["uri"] for item in data["queue"]] == [uris[2], uris[0], uris[1]]
    assert data["queue"][0]["card"]["title"] == "A paper"
    plain = run("label", "--list", "--db", str(db_path))
    assert "label queue: show_less 1, uncertain 1, recent_admission 1" in plain.output


def test_label_interactively_records_answers(db_path: Path) -> None:
    uris = queued_db(db_path)
    result = run("label", "--db", str(db_path), input="m\ns\nx\nb\n")
    assert result.exit_code == 0, result.output
    assert "a subscriber asked to see less of it" in result.output and "card: A paper" in result.output
    assert "labeled 2, skipped 1" in result.output
    conn = open_db(db_path).conn
    assert {x.uri: set(x.labels) for x in labels.all_labels(conn)} == {
        uris[2]: {"ml"},
        uris[1]: {"github", "ml"},
    }
    assert [item.uri for item in labels.queue(conn)] == [uris[0]]  # the skipped one waits
    quit_at_once = run("label", "--db", str(db_path), input="q\n")
    assert "labeled 0, skipped 0" in quit_at_once.output


def test_label_one_uri_non_interactively(db_path: Path) -> None:
    queued_db(db_path)
    stored = f"at://{BOB}/app.bsky.feed.post/3kstored"
    result = run("label", stored, "--as", "ml,github", "--json", "--db", str(db_path))
    assert json.loads(result.output)["labels"] == ["github", "ml"]
    assert run("label", stored, "--as", "neither", "--db", str(db_path)).output.strip().endswith("neither")
    bad = CliRunner().invoke(main, ["label", stored, "--as", "cats", "--db", str(db_path)])
    assert bad.exit_code == 1 and "unknown label(s) cats" in bad.output
    missing = CliRunner().invoke(
        main, ["label", "at://did:plc:x/app.bsky.feed.post/y", "--as", "ml", "--db", str(db_path)]
    )
    assert missing.exit_code == 1 and "neither queued nor stored" in missing.output
    no_db = CliRunner().invoke(main, ["label", "--list", "--db", str(db_path.parent / "absent.db")])
    assert no_db.exit_code == 1 and "no database" in no_db.output


def hourly_capture(path: Path) -> Path:
    frames = []
    for seq, (hour, text) in enumerate(
        [
            (9, "shipped https://github.com/pallets/flask today"),
            (9, "see github.com/psf/requests"),
            (9, "a cat photo"),
            (11, "fork: https://github.com/bob/fork"),
        ],
        start=1,
    ):
        created = f"2026-07-04T{hour:02d}:{seq:02d}:00.000Z"
        frames.append(fg.commit_frame(seq, ALICE, [fg.post_op(f"3kpost{seq:07d}", text, created_at=created)]))
    return write_capture(path, frames)


def test_backtest_counts_each_feed_per_hour_with_samples(tmp_path: Path) -> None:
    capture = hourly_capture(tmp_path / "day.zst")
    result = run("backtest", str(capture), "--scorer", "link", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["hours"] == ["2026-07-04T09:00Z", "2026-07-04T11:00Z"]
    assert data["counts"]["github"] == {"2026-07-04T09:00Z": 2, "2026-07-04T11:00Z": 1}
    assert data["counts"]["ml"] == {} and data["totals"]["links"] == 3
    assert data["replay"]["events"] == 4 and data["replay"]["posts_scored"] == 4
    assert len(data["samples"]["github"]) == 3 and not list(tmp_path.glob("*.db"))  # temporary db gone
    text = run("backtest", str(capture), "--scorer", "link", "--samples", "1").output
    assert "2026-07-04T09:00Z" in text and "github:" in text and "total" in text


def test_backtest_a_synthetic_capture_kept_in_a_db_then_reported_again(tmp_path: Path) -> None:
    capture = tmp_path / "synth.zst"
    write_synthetic_capture(capture, n_events=1000, seed=3)
    db = tmp_path / "kept.db"
    first = json.loads(run("backtest", str(capture), "--db", str(db), "--scorer", "link", "--json").output)
    stored = open_db(db).conn.execute("SELECT count(*) FROM posts").fetchone()[0]
    assert stored > 0 and first["totals"]["github"] == first["totals"]["links"] == stored
    again = json.loads(run("backtest", "--db", str(db), "--json").output)
    assert again["counts"] == first["counts"] and again["replay"] is None
    usage = CliRunner().invoke(main, ["backtest"])
    assert usage.exit_code == 2 and "give a CAPTURE" in usage.output
