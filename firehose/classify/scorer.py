"""EmbeddingScorer: the classifier behind `firehose.scoring.PostScorer`.

Path per batch: link features -> (optional) hashed n-gram prefilter -> embed the posts that pass ->
topic heads. A post the prefilter turns away never reaches the model and scores 0 on every topic.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from firehose.classify.embedder import Embedder
from firehose.classify.features import embed_text, link_matrix
from firehose.classify.heads import DEFAULT_HEADS_PATH, Heads, HeadsError

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)


def kept_topics(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> list[str]:
    """Topics whose score reaches the topic's threshold (same rule as firehose.scoring when present)."""
    try:
        from firehose.scoring import kept_topics as shared
    except ImportError:
        return [topic for topic, score in scores.items() if score >= thresholds.get(topic, 1.0)]
    return list(shared(scores, thresholds))


@dataclass(frozen=True)
class Explanation:
    """Everything the classifier saw and decided for one post."""

    text: str
    links: list[float]
    prefilter: dict[str, float]
    prefilter_passed: bool
    scores: dict[str, float]


class EmbeddingScorer:
    """Scores posts 0..1 per topic with a sentence embedding model and small linear heads."""

    def __init__(self, embedder: Embedder, heads: Heads, *, prefilter: bool = True) -> None:
        if heads.embedding_dim != embedder.dim:
            raise HeadsError(
                f"the heads were trained on {heads.meta.get('model')!r} ({heads.embedding_dim} dims) but the "
                f"model {embedder.name!r} gives {embedder.dim}: retrain with `gitfeed train`"
            )
        if heads.meta.get("model") not in (None, embedder.name):
            log.warning("heads were trained on %s, scoring with %s", heads.meta.get("model"), embedder.name)
        self.embedder = embedder
        self.heads = heads
        self.topics: tuple[str, ...] = heads.topics
        self.use_prefilter = prefilter and bool(heads.prefilter) and bool(heads.prefilter_pass)
        self.posts_seen = 0
        self.posts_embedded = 0

    def score(self, records: Sequence[dict]) -> list[dict[str, float]]:
        return [dict(zip(self.topics, row, strict=True)) for row in self.score_matrix(records).tolist()]

    def score_matrix(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        """(n, topics) scores as an array."""
        scores, _, _ = self._run(records)
        return scores

    def _run(self, records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        texts = [embed_text(record) for record in records]
        links = link_matrix(records)
        scores = np.zeros((len(records), len(self.topics)))
        static = self.embedder.static(texts) if self.heads.needs_static else None
        ngram, pre = self.heads.first_stage(texts, links, static)
        passed = self.heads.prefilter_passes(pre) if self.use_prefilter else np.ones(len(records), dtype=bool)
        index = np.flatnonzero(passed)
        if len(index):
            embeddings = self.embedder.encode([texts[i] for i in index])
            scores[index] = self.heads.score(embeddings, links[index], ngram[index])
        self.posts_seen += len(records)
        self.posts_embedded += len(index)
        return scores, pre, passed

    def explain(self, record: dict[str, Any]) -> Explanation:
        scores, pre, passed = self._run([record])
        return Explanation(
            text=embed_text(record),
            links=link_matrix([record])[0].tolist(),
            prefilter={t: float(v) for t, v in zip(self.topics, pre[0], strict=True)},
            prefilter_passed=bool(passed[0]),
            scores={t: float(v) for t, v in zip(self.topics, scores[0], strict=True)},
        )


def heads_path(settings: Settings) -> Path:
    return Path(settings.heads_path) if settings.heads_path else DEFAULT_HEADS_PATH


def build_scorer(settings: Settings, *, embedder: Embedder | None = None) -> EmbeddingScorer:
    """The embedding classifier configured by settings (model, device, precision, heads, prefilter).

    Raises ModelNotFoundError or HeadsError with a message fit for one CLI line.
    """
    heads = Heads.load(heads_path(settings))
    embedder = embedder or Embedder.from_settings(settings)
    return EmbeddingScorer(embedder, heads, prefilter=settings.classify_prefilter)
