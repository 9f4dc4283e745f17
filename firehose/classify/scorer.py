"""EmbeddingScorer: the classifier behind `firehose.scoring.PostScorer`.

Path per batch: the text a post shows (text, card, alt texts; capped) -> lexicon groups and link
features -> the first stage (hashed n-grams, no model) -> for the few posts that pass: their language ->
the model embeds those whose language it reads -> the topic heads. A post the first stage turns away
scores 0 on every topic and never reaches the model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from firehose.classify import rules
from firehose.classify.embedder import Embedder
from firehose.classify.features import embed_text, link_matrix
from firehose.classify.heads import DEFAULT_HEADS_PATH, Heads, HeadsError
from firehose.classify.language import detect_language
from firehose.classify.lexicon import lexicon_matrix, matched_groups

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Explanation:
    """Everything the classifier saw and decided for one post."""

    text: str
    links: list[float]
    lexicon: list[str]
    language: str
    readable: bool
    prefilter: dict[str, float]
    prefilter_passed: bool
    routes: dict[str, tuple[float, float, float]]  # network head, written head, link/lexicon rule
    scores: dict[str, float]


@dataclass
class ScorerCounts:
    """What the scorer did with the posts it saw (for stats and benchmarks)."""

    seen: int = 0
    passed: int = 0  # went past the first stage
    embedded: int = 0  # reached the model
    unreadable: int = 0  # passed, but in a language the encoder does not read: scored without it


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
        self.use_prefilter = prefilter
        self.counts = ScorerCounts()

    @property
    def posts_seen(self) -> int:
        return self.counts.seen

    @property
    def posts_embedded(self) -> int:
        return self.counts.embedded

    def score(self, records: Sequence[dict]) -> list[dict[str, float]]:
        return [dict(zip(self.topics, row, strict=True)) for row in self.score_matrix(records).tolist()]

    def score_matrix(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        """(n, topics) scores as an array."""
        return self._run(records)[0].max(axis=2)

    def _run(self, records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """(routes (n, topics, 3): network head, written head, link rule; gate logits; passed; languages of
        the passed posts ('' for the others))."""
        texts = [embed_text(record) for record in records]
        lexicon = lexicon_matrix(texts)
        links = link_matrix(records)
        gate = self.heads.gate_logits(texts, lexicon, links)
        passed = self.heads.passes(gate) if self.use_prefilter else np.ones(len(records), dtype=bool)
        routes = np.zeros((len(records), len(self.topics), 3))
        routes[:, :, 2] = rules.forced(self.topics, lexicon, links)
        languages = [""] * len(records)
        index = np.flatnonzero(passed)
        readable = np.zeros(len(index), dtype=bool)
        for row, i in enumerate(index):
            languages[i] = detect_language(texts[i])
            readable[row] = languages[i] in self.heads.readable_languages
        if len(index):
            embeddings = np.zeros((len(index), self.embedder.dim), dtype=np.float32)
            to_embed = np.flatnonzero(readable)
            if len(to_embed):
                embeddings[to_embed] = self.embedder.encode([texts[index[row]] for row in to_embed])
            routes[index, :, :2] = self.heads.routes(embeddings, lexicon[index], links[index], readable)
        routes[:, :, :2] *= ~rules.vetoed(self.topics, lexicon)[:, :, None]
        self.counts.seen += len(records)
        self.counts.passed += len(index)
        self.counts.embedded += int(readable.sum())
        self.counts.unreadable += int(len(index) - readable.sum())
        return routes, gate, passed, languages

    def first_stage(self, records: Sequence[dict[str, Any]]) -> np.ndarray:
        """(n,) True where the first stage sends the post on to the model (no model run, nothing counted)."""
        texts = [embed_text(record) for record in records]
        return self.heads.passes(self.heads.gate_logits(texts, lexicon_matrix(texts), link_matrix(records)))

    def explain(self, record: dict[str, Any]) -> Explanation:
        routes, gate, passed, languages = self._run([record])
        text = embed_text(record)
        language = languages[0] or detect_language(text)
        return Explanation(
            text=text,
            links=link_matrix([record])[0].tolist(),
            lexicon=matched_groups(text),
            language=language,
            readable=language in self.heads.readable_languages,
            prefilter={t: float(v) for t, v in zip(self.topics, gate[0], strict=True)},
            prefilter_passed=bool(passed[0]),
            routes={t: tuple(float(v) for v in routes[0, c]) for c, t in enumerate(self.topics)},
            scores={t: float(v) for t, v in zip(self.topics, routes[0].max(axis=1), strict=True)},
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
