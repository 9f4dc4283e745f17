"""The scoring seam: the pipeline hands a batch of candidate posts to a `PostScorer` and keeps the ones
that reach a topic's threshold.

`LinkScorer` is Gitfeed's rule (a GitHub link makes a post about GitHub) and the fallback when the
embedding classifier (`firehose.classify.build_scorer`) is not wanted or not available.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from firehose.detect import github_links
from firehose.store.rows import KeptPost
from firehose.topics import TOPICS


class ScorerUnavailable(Exception):
    """The scorer cannot score this batch now (scoring workers down, slow, or answering nonsense).

    Ingest keeps the batch, retries with backoff and commits nothing meanwhile: the cursor moves only
    after scores return. Never a reason to fall back to another scorer or to score 0.
    """


@runtime_checkable
class PostScorer(Protocol):
    """Scores post records 0..1 per topic; one dict per record, in order."""

    topics: tuple[str, ...]

    def score(self, records: Sequence[dict[str, Any]]) -> list[dict[str, float]]: ...


class LinkScorer:
    """github = 1.0 when the post links to GitHub (facet, card, or plain text), else 0; ml = 0."""

    topics: tuple[str, ...] = TOPICS

    def score(self, records: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
        return [{"github": 1.0 if github_links(record) else 0.0, "ml": 0.0} for record in records]


def kept_topics(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> list[str]:
    """Topics whose score reaches their threshold; a topic without a threshold needs a perfect 1.0."""
    return [topic for topic, score in scores.items() if score >= thresholds.get(topic, 1.0)]


def decide(
    scorer: PostScorer, records: Sequence[dict[str, Any]], thresholds: Mapping[str, float]
) -> list[KeptPost | None]:
    """Score a batch and say, per record, what to keep (None: no topic reached its threshold)."""
    if not records:
        return []
    return decisions(records, scorer.score(records), thresholds)


def decisions(
    records: Sequence[dict[str, Any]], scores: Sequence[Mapping[str, float]], thresholds: Mapping[str, float]
) -> list[KeptPost | None]:
    """What to keep of each scored record (None: no topic reached its threshold)."""
    out: list[KeptPost | None] = []
    for record, post_scores in zip(records, scores, strict=True):
        topics = kept_topics(post_scores, thresholds)
        if topics:
            out.append(KeptPost(scores=dict(post_scores), links=github_links(record), topics=tuple(topics)))
        else:
            out.append(None)
    return out
