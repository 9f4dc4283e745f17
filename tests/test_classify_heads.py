"""Heads storage (npz, no pickle), thresholds, and the prefilter decision: numpy only, no model."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from firehose.classify.features import LINK_FEATURES, link_features
from firehose.classify.heads import DEFAULT_HEADS_PATH, Heads, HeadsError, LinearHead
from firehose.classify.scorer import kept_topics
from firehose.settings import load_settings

DIM = 8
PRE_DIM = 64


def make_heads() -> Heads:
    rng = np.random.default_rng(0)
    width = DIM + len(LINK_FEATURES)
    return Heads(
        topics=("github", "ml"),
        heads={
            t: LinearHead(rng.normal(size=width).astype(np.float32), float(rng.normal()))
            for t in ("github", "ml")
        },
        prefilter={
            t: LinearHead(rng.normal(size=PRE_DIM + len(LINK_FEATURES)).astype(np.float32), -1.0)
            for t in ("github", "ml")
        },
        prefilter_dim=PRE_DIM,
        prefilter_pass={"github": 0.2, "ml": 0.3},
        meta={"model": "test", "embedding_dim": DIM},
        stack={"github": (1.0, 0.5, -0.1), "ml": (0.8, 0.2, 0.0)},
    )


def test_round_trip_keeps_every_weight_and_score(tmp_path: Path) -> None:
    heads = make_heads()
    path = heads.save(tmp_path / "heads.npz")
    loaded = Heads.load(path)
    assert loaded.topics == heads.topics and loaded.stack == heads.stack
    assert loaded.prefilter_pass == heads.prefilter_pass and loaded.prefilter_dim == PRE_DIM
    emb = np.random.default_rng(1).normal(size=(5, DIM)).astype(np.float32)
    links = np.zeros((5, len(LINK_FEATURES)), dtype=np.float32)
    texts = ["a", "github repo", "llm eval", "cats", ""]
    ngram = heads.ngram_logits(texts, links)
    np.testing.assert_allclose(loaded.ngram_logits(texts, links), ngram)
    np.testing.assert_allclose(loaded.score(emb, links, ngram), heads.score(emb, links, ngram), rtol=1e-6)
    # The file holds arrays only: numpy refuses nothing when pickles are off.
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_gate_round_trips_and_uses_the_static_embedding(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    static_dim = 6
    heads = make_heads()
    heads.gate = {
        t: LinearHead(rng.normal(size=PRE_DIM + len(LINK_FEATURES) + static_dim).astype(np.float32), -0.5)
        for t in heads.topics
    }
    heads.static_dim, heads.static_scale = static_dim, 10.0
    loaded = Heads.load(heads.save(tmp_path / "heads.npz"))
    assert loaded.needs_static and loaded.static_scale == 10.0
    texts = ["a post", "another one"]
    links = np.zeros((2, len(LINK_FEATURES)), dtype=np.float32)
    static = rng.normal(size=(2, static_dim)).astype(np.float32)
    ngram, pre = loaded.first_stage(texts, links, static)
    np.testing.assert_allclose(ngram, heads.ngram_logits(texts, links), rtol=1e-6)
    # The gate, not the n-gram model, is what the prefilter sees, and the static part moves it.
    _, other = loaded.first_stage(texts, links, -static)
    assert not np.allclose(pre, other) and not np.allclose(pre, 1 / (1 + np.exp(-ngram)))
    with pytest.raises(HeadsError, match="static"):
        loaded.first_stage(texts, links, None)


def test_refuses_a_truncated_file(tmp_path: Path) -> None:
    path = make_heads().save(tmp_path / "heads.npz")
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(HeadsError, match="corrupt"):
        Heads.load(path)


def test_refuses_edited_weights(tmp_path: Path) -> None:
    path = make_heads().save(tmp_path / "heads.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["head_ml_w"] = arrays["head_ml_w"] + 1.0  # the checksum in meta no longer matches
    np.savez(path, **arrays)
    with pytest.raises(HeadsError, match="checksum"):
        Heads.load(path)


def test_refuses_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "heads.npz"
    np.savez(
        path, meta=np.asarray(json.dumps({"format": 1})), head_ml_w=np.asarray([{"evil": 1}], dtype=object)
    )
    with pytest.raises(HeadsError):
        Heads.load(path)


def test_refuses_wrong_shapes_and_missing_files(tmp_path: Path) -> None:
    heads = make_heads()
    heads.meta["embedding_dim"] = DIM + 1  # claims a bigger model than its weights fit
    path = heads.save(tmp_path / "heads.npz")
    with pytest.raises(HeadsError, match="shape"):
        Heads.load(path)
    with pytest.raises(HeadsError, match="gitfeed train"):
        Heads.load(tmp_path / "absent.npz")
    (tmp_path / "notzip.npz").write_text("hello")
    with pytest.raises(HeadsError):
        Heads.load(tmp_path / "notzip.npz")


def test_shipped_heads_load_and_are_small() -> None:
    heads = Heads.load(DEFAULT_HEADS_PATH)
    assert heads.topics == ("github", "ml")
    assert heads.embedding_dim == 384
    assert DEFAULT_HEADS_PATH.stat().st_size < 2_000_000
    assert zipfile.is_zipfile(DEFAULT_HEADS_PATH)


def test_thresholds_decide_kept_topics() -> None:
    scores = {"github": 0.62, "ml": 0.41}
    assert kept_topics(scores, {"github": 0.5, "ml": 0.5}) == ["github"]
    assert kept_topics(scores, {"github": 0.7, "ml": 0.4}) == ["ml"]
    assert kept_topics(scores, {"github": 0.9, "ml": 0.9}) == []
    settings = load_settings(threshold_github=0.6, threshold_ml=0.3)
    assert settings.thresholds == {"github": 0.6, "ml": 0.3}
    assert kept_topics(scores, settings.thresholds) == ["github", "ml"]


def test_prefilter_passes_when_any_topic_reaches_its_limit() -> None:
    heads = make_heads()
    pre = np.asarray([[0.1, 0.1], [0.25, 0.0], [0.0, 0.3], [0.19, 0.29]])
    assert heads.prefilter_passes(pre).tolist() == [False, True, True, False]


def test_link_features_see_cards_and_other_forges() -> None:
    names = list(LINK_FEATURES)
    card_only = {
        "text": "",
        "embed": {
            "$type": "app.bsky.embed.external",
            "external": {
                "uri": "https://github.com/astral-sh/uv",
                "title": "GitHub - astral-sh/uv",
                "description": "fast",
            },
        },
    }
    values = dict(zip(names, link_features(card_only), strict=True))
    assert (
        values["github_link"] == values["github_repo"] == values["github_card"] == values["empty_text"] == 1
    )
    gitlab = {"text": "code at gitlab.com/inkscape/inkscape", "facets": []}
    values = dict(zip(names, link_features(gitlab), strict=True))
    assert values["other_code_host"] == 1 and values["github_link"] == 0
    arxiv = {"text": "paper https://arxiv.org/abs/2406.01234"}
    assert dict(zip(names, link_features(arxiv), strict=True))["ml_host_link"] == 1
