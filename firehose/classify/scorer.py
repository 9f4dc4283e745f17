"""EmbeddingScorer: the classifier behind `firehose.scoring.PostScorer`.

Path per batch: the text a post shows (text, card, alt texts; capped) -> lexicon groups and link
features -> the first stage (hashed n-grams, no model) -> for the few posts that pass: their language ->
the model step (`firehose.classify.modelstep`: the model embeds those whose language it reads, the topic
heads score them; in this process, or in scoring workers over HTTP) -> the link, lexicon and veto rules.
A post the first stage turns away scores 0 on every topic and never reaches the model.
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
from firehose.classify.modelstep import LocalModel, ModelInput, ModelStep

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


@dataclass(frozen=True)
class FirstStage:
    """A batch after the first stage: its features, the gate's logits, and the survivors (`batch`, rows
    `index` of the batch) with the languages of the passed posts ('' for the others)."""

    lexicon: np.ndarray
    links: np.ndarray
    gate: np.ndarray
    passed: np.ndarray
    index: np.ndarray
    languages: list[str]
    batch: ModelInput


@dataclass
class ScorerCounts:
    """What the scorer did with the posts it saw (for stats and benchmarks)."""

    seen: int = 0
    passed: int = 0  # went past the first stage
    embedded: int = 0  # reached the model
    unreadable: int = 0  # passed, but in a language the encoder does not read: scored without it


class EmbeddingScorer:
    """Scores posts 0..1 per topic: the first stage and the rules here, the model step where it runs."""

    def __init__(self, model: ModelStep, heads: Heads, *, prefilter: bool = True) -> None:
        if model.topics != heads.topics:
            raise HeadsError(f"the model step scores {model.topics}, the heads {heads.topics}")
        self.model = model
        self.heads = heads
        self.topics: tuple[str, ...] = heads.topics
        self.use_prefilter = prefilter
        self.counts = ScorerCounts()

    @property
    def embedder(self) -> Embedder | None:
        """The encoder when it runs in this process (None when the model step is remote)."""
        return getattr(self.model, "embedder", None)

    def describe(self) -> str:
        return self.model.describe()

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

    def survivors(self, records: Sequence[dict[str, Any]]) -> FirstStage:
        """The first stage of a batch (no model run, nothing counted): features, gate, and the posts it
        sends on to the model step, with their languages. What ingest sends to scoring workers."""
        texts = [embed_text(record) for record in records]
        lexicon = lexicon_matrix(texts)
        links = link_matrix(records)
        gate = self.heads.gate_logits(texts, lexicon, links)
        passed = self.heads.passes(gate) if self.use_prefilter else np.ones(len(records), dtype=bool)
        languages = [""] * len(records)
        index = np.flatnonzero(passed)
        readable = np.zeros(len(index), dtype=bool)
        for row, i in enumerate(index):
            languages[i] = detect_language(texts[i])
            readable[row] = languages[i] in self.heads.readable_languages
        batch = ModelInput([texts[i] for i in index], lexicon[index], links[index], readable)
        return FirstStage(lexicon, links, gate, passed, index, languages, batch)

    def _run(self, records: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """(routes (n, topics, 3): network head, written head, link rule; gate logits; passed; languages of
        the passed posts ('' for the others))."""
        first = self.survivors(records)
        routes = np.zeros((len(records), len(self.topics), 3))
        routes[:, :, 2] = rules.forced(self.topics, first.lexicon, first.links)
        if len(first.index):
            routes[first.index, :, :2] = self.model.routes(first.batch)
        routes[:, :, :2] *= ~rules.vetoed(self.topics, first.lexicon)[:, :, None]
        embedded = int(first.batch.readable.sum())
        self.counts.seen += len(records)
        self.counts.passed += len(first.index)
        self.counts.embedded += embedded
        self.counts.unreadable += len(first.index) - embedded
        return routes, first.gate, first.passed, first.languages

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


def build_model(settings: Settings, heads: Heads | None = None) -> LocalModel:
    """The model step in this process: the encoder configured by settings and the heads."""
    heads = heads or Heads.load(heads_path(settings))
    embedder = Embedder.from_settings(settings)
    if heads.meta.get("model") not in (None, embedder.name):
        log.warning("heads were trained on %s, scoring with %s", heads.meta.get("model"), embedder.name)
    return LocalModel(embedder, heads)


def build_scorer(
    settings: Settings, *, embedder: Embedder | None = None, workers: bool = False
) -> EmbeddingScorer:
    """The embedding classifier configured by settings (model, device, precision, heads, prefilter).

    workers=True (ingest): the model step runs in the scoring workers at FEEDGEN_SCORER_URL when it is
    set; the commands that explain, evaluate or train always run the model here.
    Raises ModelNotFoundError or HeadsError with a message fit for one CLI line.
    """
    heads = Heads.load(heads_path(settings))
    model: ModelStep
    if workers and settings.scorer_url and embedder is None:
        from firehose.classify.remote import RemoteModel

        model = RemoteModel.from_settings(settings, heads)
    elif embedder is not None:
        model = LocalModel(embedder, heads)
    else:
        model = build_model(settings, heads)
    return EmbeddingScorer(model, heads, prefilter=settings.classify_prefilter)
