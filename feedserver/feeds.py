"""The feeds we serve: name -> definition (a candidate query and a relevance rule).

A definition's SQL is constant text written here, never built from a request; its only parameters are
settings (thresholds), bound by name. Ranking (engagement x time decay) is shared and lives in ranking.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from firehose.store.backend import Connection

Columns = dict[str, np.ndarray]

FEED_COLLECTION = "app.bsky.feed.generator"


@dataclass(frozen=True)
class FeedDefinition:
    """One feed: which stored posts belong to it and how relevant each one is (0..1)."""

    name: str
    display_name: str
    description: str
    where: str
    relevance: Callable[[Columns], np.ndarray]
    newest_first: bool = False


def _github(columns: Columns) -> np.ndarray:
    return columns["score_github"]


def _ml(columns: Columns) -> np.ndarray:
    return columns["score_ml"]


def _either(columns: Columns) -> np.ndarray:
    return np.maximum(columns["score_github"], columns["score_ml"])


def _ones(columns: Columns) -> np.ndarray:
    return np.ones_like(columns["score_github"])


FEEDS: dict[str, FeedDefinition] = {
    "github": FeedDefinition(
        name="github",
        display_name="GitHub",
        description="Posts about code on GitHub, ranked by relevance, likes and freshness.",
        where="score_github >= :threshold_github",
        relevance=_github,
    ),
    "ml": FeedDefinition(
        name="ml",
        display_name="Machine learning",
        description="Posts about machine learning, ranked by relevance, likes and freshness.",
        where="score_ml >= :threshold_ml",
        relevance=_ml,
    ),
    "all": FeedDefinition(
        name="all",
        display_name="GitHub + ML",
        description="Posts about GitHub code or machine learning, ranked.",
        where="(score_github >= :threshold_github OR score_ml >= :threshold_ml)",
        relevance=_either,
    ),
    "links": FeedDefinition(
        name="links",
        display_name="GitHub links",
        description="Every post with a GitHub link, newest first (the original Gitfeed).",
        where="github_urls != '[]'",
        relevance=_ones,
        newest_first=True,
    ),
}


def feed_params(thresholds: dict[str, float]) -> dict[str, float]:
    """The named parameters of the feeds' queries, from `Settings.thresholds`."""
    return {f"threshold_{topic}": value for topic, value in thresholds.items()}


def feeds_selecting(conn: Connection, thresholds: dict[str, float], uri: str) -> list[str]:
    """The feeds whose query selects the stored post `uri` (before moderation and the time horizon)."""
    params = {"uri": uri, **feed_params(thresholds)}
    return [
        name
        for name, feed in FEEDS.items()
        if conn.execute(f"SELECT 1 FROM posts WHERE uri = :uri AND ({feed.where})", params).fetchone()
    ]


class UnknownFeedError(Exception):
    """The feed URI names no feed this generator serves."""


class InvalidFeedUriError(ValueError):
    """The feed parameter is not an at-uri of a feed generator record."""


def feed_uri(publisher_did: str, name: str) -> str:
    """The at-uri a feed is published at."""
    return f"at://{publisher_did}/{FEED_COLLECTION}/{name}"


def parse_feed_uri(uri: str, publisher_did: str) -> FeedDefinition:
    """Map `at://PUBLISHER/app.bsky.feed.generator/NAME` to its definition.

    Raises InvalidFeedUriError for something that is not such an at-uri, UnknownFeedError for one
    that names another publisher or a feed we do not serve.
    """
    if not uri.startswith("at://"):
        raise InvalidFeedUriError("feed must be an at-uri: at://DID/app.bsky.feed.generator/NAME")
    parts = uri[len("at://") :].split("/")
    if len(parts) != 3 or not all(parts) or not parts[0].startswith("did:") or parts[1] != FEED_COLLECTION:
        raise InvalidFeedUriError("feed must be an at-uri: at://DID/app.bsky.feed.generator/NAME")
    authority, _, name = parts
    definition = FEEDS.get(name)
    if authority != publisher_did or definition is None:
        raise UnknownFeedError(f"unknown feed {uri[:300]}")
    return definition
