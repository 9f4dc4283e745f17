"""Measure the classifier on a labeled JSONL file, through the same path ingest uses.

Each line: {"id": ..., "labels": ["github", "ml"], "record": {app.bsky.feed.post record}}.
A post is predicted in a topic when its score reaches the topic's threshold.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firehose.classify.batcher import batched
from firehose.classify.features import embed_text


class EvalDataError(Exception):
    """A labeled file that cannot be read: the message names the line."""


@dataclass(frozen=True)
class LabeledPost:
    id: str
    labels: frozenset[str]
    record: dict[str, Any]


def load_jsonl(path: Path | str, topics: Sequence[str] = ("github", "ml")) -> list[LabeledPost]:
    path = Path(path)
    if not path.is_file():
        raise EvalDataError(f"no such file: {path}")
    posts = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvalDataError(f"{path}:{number}: not JSON ({error.msg})") from error
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
    n: int
    topics: tuple[str, ...]
    metrics: dict[str, TopicMetrics]
    thresholds: dict[str, float]
    false_positives: list[Mistake] = field(default_factory=list)
    false_negatives: list[Mistake] = field(default_factory=list)
    embedded: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n}
        for topic in self.topics:
            m = self.metrics[topic]
            out[topic] = {
                "precision": m.precision,
                "recall": m.recall,
                "f1": m.f1,
                "tp": m.tp,
                "fp": m.fp,
                "fn": m.fn,
                "threshold": self.thresholds[topic],
            }
        return out


def evaluate(
    posts: Sequence[LabeledPost],
    score: Callable[[Sequence[dict]], list[dict[str, float]]],
    thresholds: Mapping[str, float],
    *,
    topics: Sequence[str] = ("github", "ml"),
    batch_size: int = 128,
    progress: Callable[[int], None] | None = None,
) -> EvalReport:
    """Score every post with `score` (a PostScorer's score) and compare with the labels."""
    report = EvalReport(len(posts), tuple(topics), {t: TopicMetrics() for t in topics}, dict(thresholds))
    for chunk in batched(posts, batch_size):
        for post, scores in zip(chunk, score([p.record for p in chunk]), strict=True):
            for topic in topics:
                predicted = scores.get(topic, 0.0) >= thresholds[topic]
                actual = topic in post.labels
                m = report.metrics[topic]
                if predicted and actual:
                    m.tp += 1
                elif predicted:
                    m.fp += 1
                    report.false_positives.append(
                        Mistake(post.id, topic, scores[topic], embed_text(post.record))
                    )
                elif actual:
                    m.fn += 1
                    report.false_negatives.append(
                        Mistake(post.id, topic, scores.get(topic, 0.0), embed_text(post.record))
                    )
                else:
                    m.tn += 1
        if progress is not None:
            progress(len(chunk))
    return report
