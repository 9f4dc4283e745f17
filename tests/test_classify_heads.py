"""Heads storage (npz, no pickle), thresholds, and the prefilter decision: numpy only, no model."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from firehose.classify.features import LINK_FEATURES, link_features
from firehose.classify.heads import DEFAULT_HEADS_PATH, Heads, HeadsError, LinearHead, TopicModel
from firehose.classify.lexicon import GROUPS, lexicon_matrix
from firehose.scoring import kept_topics
from firehose.settings import load_settings

DIM = 8
NGRAM_DIM = 64
G, K = len(GROUPS), len(LINK_FEATURES)


def _head(rng: np.random.Generator, width: int, bias: float) -> LinearHead:
    return LinearHead(rng.normal(size=width).astype(np.float32), bias)


def make_heads(written: bool = True) -> Heads:
    rng = np.random.default_rng(0)
    models = {
        topic: TopicModel(
            gate=_head(rng, NGRAM_DIM + G + K, -1.0),
            gate_cut=0.5,
            real=_head(rng, G + K + DIM + 1, -2.0),
            real_cut=0.25,
            written=_head(rng, DIM + K + G, -1.0) if written else None,
            written_cut=1.0,
            written_floor=-3.0,
        )
        for topic in ("github", "ml")
    }
    return Heads(("github", "ml"), models, NGRAM_DIM, DIM, ("en",), {"model": "test"})


def _inputs(n: int = 5):  # noqa: ANN202
    rng = np.random.default_rng(1)
    texts = ["a", "github repo", "llm eval with ChatGPT", "cats", ""][:n]
    emb = rng.normal(size=(n, DIM)).astype(np.float32)
    return texts, emb, lexicon_matrix(texts), np.zeros((n, K), dtype=np.float32)


def test_round_trip_keeps_every_weight_and_score(tmp_path: Path) -> None:
    heads = make_heads()
    path = heads.save(tmp_path / "heads.npz")
    loaded = Heads.load(path)
    assert loaded.topics == heads.topics
    for topic, model in heads.models.items():
        other = loaded.models[topic]
        assert (other.gate_cut, other.real_cut, other.written_cut, other.written_floor) == (
            model.gate_cut,
            model.real_cut,
            model.written_cut,
            model.written_floor,
        )
        for name in ("gate", "real", "written"):
            np.testing.assert_array_equal(getattr(other, name).w, getattr(model, name).w)
    assert loaded.readable_languages == ("en",) and loaded.ngram_dim == NGRAM_DIM
    texts, emb, lexicon, links = _inputs()
    readable = np.asarray([True, True, False, True, True])
    np.testing.assert_allclose(
        loaded.gate_logits(texts, lexicon, links), heads.gate_logits(texts, lexicon, links)
    )
    np.testing.assert_allclose(
        loaded.score(emb, lexicon, links, readable), heads.score(emb, lexicon, links, readable), rtol=1e-6
    )
    # The file holds arrays only: numpy refuses nothing when pickles are off.
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


def test_written_route_is_closed_for_unreadable_posts_and_under_the_floor() -> None:
    heads = make_heads()
    _, emb, lexicon, links = _inputs()
    routes = heads.routes(emb, lexicon, links, np.zeros(5, dtype=bool))
    assert (routes[:, :, 1] == 0).all()  # never admitted on an embedding that cannot read the language
    unreadable_real = routes[:, :, 0]
    # An unreadable post's network score does not depend on its (meaningless) embedding.
    np.testing.assert_allclose(
        heads.routes(-emb, lexicon, links, np.zeros(5, dtype=bool))[:, :, 0], unreadable_real
    )
    closed = make_heads()
    closed.models = {t: TopicModel(**{**m.__dict__, "written_floor": 1e9}) for t, m in closed.models.items()}
    assert (closed.routes(emb, lexicon, links, np.ones(5, dtype=bool))[:, :, 1] == 0).all()
    scores = heads.score(emb, lexicon, links, np.ones(5, dtype=bool))
    assert ((scores >= 0) & (scores <= 1)).all()


def test_heads_without_a_written_route_load_and_score(tmp_path: Path) -> None:
    heads = Heads.load(make_heads(written=False).save(tmp_path / "heads.npz"))
    _, emb, lexicon, links = _inputs()
    assert (heads.routes(emb, lexicon, links, np.ones(5, dtype=bool))[:, :, 1] == 0).all()


def test_refuses_a_truncated_file(tmp_path: Path) -> None:
    path = make_heads().save(tmp_path / "heads.npz")
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(HeadsError, match="corrupt"):
        Heads.load(path)


def test_refuses_edited_weights(tmp_path: Path) -> None:
    path = make_heads().save(tmp_path / "heads.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["real_ml_w"] = arrays["real_ml_w"] + 1.0  # the checksum in meta no longer matches
    np.savez(path, **arrays)
    with pytest.raises(HeadsError, match="checksum"):
        Heads.load(path)


def test_refuses_a_pickle(tmp_path: Path) -> None:
    path = tmp_path / "heads.npz"
    np.savez(
        path, meta=np.asarray(json.dumps({"format": 2})), real_ml_w=np.asarray([{"evil": 1}], dtype=object)
    )
    with pytest.raises(HeadsError):
        Heads.load(path)


def test_refuses_wrong_shapes_and_missing_files(tmp_path: Path) -> None:
    heads = make_heads()
    heads.embedding_dim = DIM + 1  # claims a bigger model than its weights fit
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


def test_first_stage_passes_when_any_topic_reaches_its_cut() -> None:
    heads = make_heads()
    gate = np.asarray([[0.1, 0.1], [0.6, 0.0], [0.0, 0.5], [0.49, 0.49]])
    assert heads.passes(gate).tolist() == [False, True, True, False]


def test_refuses_heads_made_for_other_lexicon_groups(tmp_path: Path) -> None:
    path = make_heads().save(tmp_path / "heads.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    meta = json.loads(str(arrays.pop("meta")))
    meta["lexicon_groups"] = meta["lexicon_groups"][:-1]
    np.savez(path, meta=np.asarray(json.dumps(meta)), **arrays)
    with pytest.raises(HeadsError, match="lexicon"):
        Heads.load(path)


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
