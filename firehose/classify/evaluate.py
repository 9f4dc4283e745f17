"""Measure the classifier on a labeled JSONL file, through the same path ingest uses.

Each line: {"id": ..., "labels": ["github", "ml"], "record": {app.bsky.feed.post record}}.
A post is predicted in a topic when its score reaches the topic's threshold.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firehose.classify.batcher import batched
from firehose.classify.features import embed_text
from firehose.topics import TOPICS


class EvalDataError(Exception):
    """A labeled file that cannot be read: the message names the line."""


@dataclass(frozen=True)
class LabeledPost:
    """A post and its topics. `kind` says where it came from (real posts: random, search, timeline...;
    written files: empty); an `uncertain` label counts in training at half weight and not in metrics."""

    id: str
    labels: frozenset[str]
    record: dict[str, Any]
    kind: str = ""
    uncertain: bool = False


def jsonl_rows(path: Path | str) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) for each non-empty line; EvalDataError names a missing file or bad line."""
    path = Path(path)
    if not path.is_file():
        raise EvalDataError(f"no such file: {path}")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise EvalDataError(f"{path}:{number}: not JSON ({error.msg})") from error


def load_jsonl(path: Path | str, topics: Sequence[str] = TOPICS) -> list[LabeledPost]:
    posts = []
    for number, row in jsonl_rows(path):
        if not isinstance(row, dict) or not isinstance(row.get("record"), dict):
            raise EvalDataError(f"{path}:{number}: expected an object with a 'record' object")
        labels = row.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise EvalDataError(f"{path}:{number}: 'labels' must be a list of topic names")
        unknown = set(labels) - set(topics)
        if unknown:
            raise EvalDataError(
                f"{path}:{number}: unknown label(s) {sorted(unknown)}; topics are {list(topics)}"
            )
        posts.append(LabeledPost(str(row.get("id", number)), frozenset(labels), row["record"]))
    return posts


@dataclass
class TopicMetrics:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Mistake:
    id: str
    topic: str
    score: float
    text: str


@dataclass
class EvalReport:
    """Per-topic metrics overall, per kind of post (real: random, search, ...) and per language.

    Uncertain labels are left out of every metric (counted in `uncertain`). On the `random` kind, an
    unfiltered firehose sample, precision is what a subscriber sees and `admission` (share of posts
    admitted) can be set against `prevalence` (share truly on topic).
    """

    n: int
    topics: tuple[str, ...]
    metrics: dict[str, TopicMetrics]
    thresholds: dict[str, float]
    false_positives: list[Mistake] = field(default_factory=list)
    false_negatives: list[Mistake] = field(default_factory=list)
    embedded: int = 0
    uncertain: int = 0
    by_kind: dict[str, dict[str, TopicMetrics]] = field(default_factory=dict)
    by_language: dict[str, dict[str, TopicMetrics]] = field(default_factory=dict)

    def _cell(self, topic: str, group: dict[str, dict[str, TopicMetrics]], key: str) -> TopicMetrics:
        return group.setdefault(topic, {}).setdefault(key, TopicMetrics())

    @staticmethod
    def _figures(m: TopicMetrics) -> dict[str, Any]:
        n = m.tp + m.fp + m.fn + m.tn
        return {
            "precision": m.precision,
            "recall": m.recall,
            "f1": m.f1,
            "tp": m.tp,
            "fp": m.fp,
            "fn": m.fn,
            "n": n,
            "admission": (m.tp + m.fp) / n if n else 0.0,
            "prevalence": (m.tp + m.fn) / n if n else 0.0,
        }

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n, "uncertain_left_out": self.uncertain}
        for topic in self.topics:
            out[topic] = {**self._figures(self.metrics[topic]), "threshold": self.thresholds[topic]}
            for name, group in (("by_kind", self.by_kind), ("by_language", self.by_language)):
                cells = group.get(topic, {})
                if len(cells) > 1 or (cells and "" not in cells):
                    out[topic][name] = {key: self._figures(m) for key, m in sorted(cells.items())}
        return out


def evaluate(
    posts: Sequence[LabeledPost],
    score: Callable[[Sequence[dict]], list[dict[str, float]]],
    thresholds: Mapping[str, float],
    *,
    topics: Sequence[str] = TOPICS,
    batch_size: int = 128,
    progress: Callable[[int], None] | None = None,
) -> EvalReport:
    """Score every post with `score` (a PostScorer's score) and compare with the labels."""
    from firehose.classify.language import detect_language

    report = EvalReport(len(posts), tuple(topics), {t: TopicMetrics() for t in topics}, dict(thresholds))
    for chunk in batched(posts, batch_size):
        for post, scores in zip(chunk, score([p.record for p in chunk]), strict=True):
            if post.uncertain:
                report.uncertain += 1
                continue
            text = embed_text(post.record)
            language = detect_language(text)
            for topic in topics:
                predicted = scores.get(topic, 0.0) >= thresholds[topic]
                actual = topic in post.labels
                cells = (
                    report.metrics[topic],
                    report._cell(topic, report.by_kind, post.kind),
                    report._cell(topic, report.by_language, language),
                )
                for m in cells:
                    _count(m, predicted, actual)
                if predicted and not actual:
                    report.false_positives.append(Mistake(post.id, topic, scores[topic], text))
                elif actual and not predicted:
                    report.false_negatives.append(Mistake(post.id, topic, scores.get(topic, 0.0), text))
        if progress is not None:
            progress(len(chunk))
    return report


def _count(m: TopicMetrics, predicted: bool, actual: bool) -> None:
    if predicted and actual:
        m.tp += 1
    elif predicted:
        m.fp += 1
    elif actual:
        m.fn += 1
    else:
        m.tn += 1
