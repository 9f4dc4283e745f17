"""The labeling loop with the real model: ingest queues the posts scored near a threshold, and
`gitfeed train --db` / `gitfeed eval --db` use the operator's labels. Slow: the packaged model."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from firehose.classify.evaluate import load_jsonl
from firehose.classify.realdata import split_of
from firehose.ingest import Ingest
from firehose.settings import load_settings
from firehose.sources.capture import CaptureSource
from firehose.store import labels
from firehose.store.schema import open_db
from gitfeed.cli import main
from tests.support import framegen as fg
from tests.support.stories import ALICE, write_capture

pytestmark = pytest.mark.slow
CLI_ENV = {"HF_HUB_OFFLINE": "1", "FEEDGEN_DEVICE": "cpu", "FEEDGEN_EMBED_THREADS": "2"}
ML = "we fine-tuned a small language model with LoRA and the eval loss finally went down"


def test_ingest_with_the_classifier_queues_the_post_scored_near_the_threshold(
    tmp_path: Path, classify_scorer
) -> None:
    posts = [ML, "shipped https://github.com/pallets/flask today", "my cat slept on the keyboard again"]
    ml_score = classify_scorer.score([fg.post_record(ML)])[0]["ml"]
    assert 0.0 < ml_score < 1.0
    frames = [
        fg.commit_frame(i + 1, ALICE, [fg.post_op(f"3kp{i:010d}", text)]) for i, text in enumerate(posts)
    ]
    capture = write_capture(tmp_path / "c.zst", frames)
    cfg = load_settings(
        threshold_ml=min(1.0, ml_score + 0.01), label_margin=0.05, label_admission_share=0.0, _env_file=None
    )
    db = open_db(tmp_path / "g.db")
    asyncio.run(Ingest(CaptureSource(capture, cfg), db, cfg, classify_scorer).run())
    items = labels.queue(db.conn)
    assert [(i.text, i.reason) for i in items] == [(ML, "uncertain")]  # a near-miss: not stored, but queued
    # int8 embedding quantizes each batch's activations together, so a post's score moves in the fourth
    # decimal with its batch-mates; the queue keeps the score ingest computed.
    assert items[0].scores["ml"] == pytest.approx(ml_score, abs=5e-3)
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 1  # the GitHub post only


def test_train_and_eval_read_the_operators_labels(tmp_path: Path, shared_dir: Path) -> None:
    from firehose.classify.heads import Heads
    from firehose.classify.realdata import DEFAULT_LABELS_PATH
    from firehose.classify.train import DATA_DIR

    real_path = shared_dir / "corpus" / "real-posts" / "posts.jsonl"
    if not real_path.is_file():
        pytest.skip(f"{real_path} is absent")
    real_labels = {row["id"]: row for row in map(json.loads, DEFAULT_LABELS_PATH.open())}
    rows = [json.loads(line) for line in real_path.open()]
    chosen = [r for r in rows if real_labels[r["id"]]["labels"]][:30] + rows[:150]
    sample = tmp_path / "posts.jsonl"
    sample.write_text("".join(json.dumps(r) + "\n" for r in {r["id"]: r for r in chosen}.values()))
    data = tmp_path / "data"
    data.mkdir()
    lines = (DATA_DIR / "train.jsonl").read_text().splitlines()
    (data / "train.jsonl").write_text("\n".join(lines[::10]) + "\n")
    # The operator labels 60 posts (written ones stand in for what the queue showed)
    db_path = tmp_path / "gitfeed.db"
    conn = open_db(db_path).conn
    operator = load_jsonl(DATA_DIR / "heldout.jsonl")[:60]
    for n, post in enumerate(operator):
        uri = f"at://did:plc:op/app.bsky.feed.post/{post.id}"
        labels.add_label(conn, uri, sorted(post.labels), float(n), record=post.record)
    uris = [f"at://did:plc:op/app.bsky.feed.post/{p.id}" for p in operator]
    in_train = sum(split_of(uri) == "train" for uri in uris)

    out = tmp_path / "heads"
    args = [
        "train",
        "--real-posts",
        str(sample),
        "--data",
        str(data),
        "--db",
        str(db_path),
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args, env=CLI_ENV)
    assert result.exit_code == 0, result.output
    assert f"({in_train} labeled by the operator)" in result.output
    real_train = sum(split_of(r["id"]) == "train" for r in map(json.loads, sample.open()))
    assert Heads.load(out / "heads.npz").meta["n_real"] == real_train + in_train

    env = {**CLI_ENV, "FEEDGEN_HEADS_PATH": str(out / "heads.npz")}
    result = CliRunner().invoke(main, ["eval", "--db", str(db_path), "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["n"] == len(uris) - in_train
    assert set(report["ml"]["by_kind"]) == {"operator"}
    text = CliRunner().invoke(main, ["eval", "--db", str(db_path), "--split", "all"], env=env)
    assert text.exit_code == 0 and f"{len(uris)} posts" in text.output and "kind operator" in text.output
