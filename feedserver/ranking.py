"""Ranking: relevance x engagement x time decay, frozen into snapshots that pages are cut from.

A snapshot is one feed's ranked candidate list at one instant. Readers page through the snapshot
named by their cursor, so inserts and moving like counts never shift a page boundary. Moderation
(bans, pins) and viewer feedback are applied when a page is cut, so they take effect on the next
request without rebuilding anything.

Pure parts (`score`, `order`, `personalize`, `position_after`, `cut_page`) take arrays and sets;
`build_snapshot` is the only one that reads SQL. What is hidden and pinned is `feedserver.moderation`'s;
what a viewer asked for is `feedserver.feedback`'s.
"""

from __future__ import annotations

import math
import secrets
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import orjson

from feedserver.feeds import FeedDefinition
from feedserver.moderation import PIN_REASON, Moderation, visible_sql
from firehose.settings import Settings

DECAY_HORIZON_HALF_LIVES = 10  # older than this contributes < 1/1000 of a fresh post
CANDIDATES_PER_SLOT = 4  # candidates fetched per feed position kept
SCORE_EPSILON = 1e-9


@dataclass(frozen=True)
class RankWeights:
    """The ranking knobs, read once from settings."""

    engagement_weight: float = 1.0
    repost_weight: float = 2.0
    half_life_hours: float = 12.0
    include_replies: bool = False
    max_posts: int = 10000
    threshold_github: float = 0.5
    threshold_ml: float = 0.5
    retention_seconds: float = 7 * 86400.0

    @property
    def thresholds(self) -> dict[str, float]:
        """The feed queries' parameters: `threshold_<topic>` -> value."""
        return {"threshold_github": self.threshold_github, "threshold_ml": self.threshold_ml}

    @classmethod
    def from_settings(cls, settings: Settings) -> RankWeights:
        return cls(
            engagement_weight=settings.engagement_weight,
            repost_weight=settings.repost_weight,
            half_life_hours=settings.half_life_hours,
            include_replies=settings.include_replies,
            max_posts=settings.feed_max_posts,
            threshold_github=settings.threshold_github,
            threshold_ml=settings.threshold_ml,
            retention_seconds=settings.retention_days * 86400.0,
        )


@dataclass
class Snapshot:
    """One feed ranked at `built_ts`, over posts with id <= `max_id`, best first.

    `uris`/`authors` are plain lists (page cutting is per item); `ids`/`scores` are arrays (re-sorting
    for a viewer is vectorized). Order: score descending, then id descending.
    """

    snapshot_id: str
    feed: str
    built_ts: float
    max_id: int
    ids: np.ndarray
    scores: np.ndarray
    uris: list[str]
    authors: list[str]
    created_ts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    likes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    reposts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    _id_of: dict[str, int] | None = field(default=None, repr=False)
    _encoded: list[bytes] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.uris)

    def encoded_items(self) -> list[bytes]:
        """Each item's skeleton JSON (`{"post": uri}`), encoded once per snapshot on first use."""
        if self._encoded is None:
            self._encoded = [orjson.dumps({"post": uri}) for uri in self.uris]
        return self._encoded

    def id_of(self, uri: str) -> int | None:
        """The post id of `uri` if it is in this snapshot (a dict built on first use)."""
        if self._id_of is None:
            self._id_of = {u: int(i) for u, i in zip(self.uris, self.ids, strict=True)}
        return self._id_of.get(uri)


def score(
    definition: FeedDefinition, columns: dict[str, np.ndarray], now: float, weights: RankWeights
) -> np.ndarray:
    """relevance x (1 + w_e * ln(1 + likes + w_r * reposts)) x 0.5 ** (age / half-life).

    The links feed is newest first: its score is the post's timestamp. Future timestamps count as now.
    """
    timestamps = np.minimum(columns["created_ts"], columns["indexed_ts"])
    if definition.newest_first:
        return timestamps.astype(np.float64)
    relevance = definition.relevance(columns)
    engagement = 1.0 + weights.engagement_weight * np.log1p(
        columns["like_count"] + weights.repost_weight * columns["repost_count"]
    )
    age_hours = np.maximum(now - timestamps, 0.0) / 3600.0
    decay = np.exp2(-age_hours / weights.half_life_hours)
    return relevance * engagement * decay


def order(scores: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Indices sorting by score descending, then id descending (a total order: ids are unique)."""
    return np.lexsort((-ids, -scores))


_COLUMNS = "id, uri, author, score_github, score_ml, like_count, repost_count, created_ts, indexed_ts"


def build_snapshot(
    conn: sqlite3.Connection,
    definition: FeedDefinition,
    weights: RankWeights,
    *,
    now: float | None = None,
    max_id: int | None = None,
) -> Snapshot:
    """Rank one feed from the store. `now`/`max_id` rebuild a past snapshot's frame (cursor fallback).

    Candidates are the newest posts of the feed inside the decay horizon (a few per kept slot);
    replies (unless settings include them) and posts of inactive accounts are left out here.
    """
    # Millisecond instant: exactly what a cursor carries, so a rebuild from a cursor scores identically.
    now = round((time.time() if now is None else now) * 1000) / 1000
    if max_id is None:
        row = conn.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()
        max_id = int(row[0])
    horizon = min(weights.retention_seconds, DECAY_HORIZON_HALF_LIVES * weights.half_life_hours * 3600.0)
    if definition.newest_first:
        horizon = weights.retention_seconds
    cap = weights.max_posts if definition.newest_first else weights.max_posts * CANDIDATES_PER_SLOT
    sql = f"""
        SELECT {_COLUMNS} FROM posts
        WHERE created_ts >= :since AND id <= :max_id
          AND {definition.where} AND {visible_sql(weights.include_replies)}
        ORDER BY created_ts DESC LIMIT :cap
    """
    params = {"since": now - horizon, "max_id": max_id, "cap": cap, **weights.thresholds}
    rows = conn.execute(sql, params).fetchall()
    count = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=count)
    columns = {
        "score_github": np.fromiter((r[3] for r in rows), dtype=np.float64, count=count),
        "score_ml": np.fromiter((r[4] for r in rows), dtype=np.float64, count=count),
        "like_count": np.fromiter((r[5] for r in rows), dtype=np.float64, count=count),
        "repost_count": np.fromiter((r[6] for r in rows), dtype=np.float64, count=count),
        "created_ts": np.fromiter((r[7] for r in rows), dtype=np.float64, count=count),
        "indexed_ts": np.fromiter((r[8] for r in rows), dtype=np.float64, count=count),
    }
    scores = score(definition, columns, now, weights)
    keep = order(scores, ids)[: weights.max_posts]
    return Snapshot(
        snapshot_id=secrets.token_hex(6),
        feed=definition.name,
        built_ts=now,
        max_id=max_id,
        ids=ids[keep],
        scores=scores[keep],
        uris=[rows[i][1] for i in keep],
        authors=[rows[i][2] for i in keep],
        created_ts=columns["created_ts"][keep],
        likes=columns["like_count"][keep].astype(np.int64),
        reposts=columns["repost_count"][keep].astype(np.int64),
    )


def personalize(snapshot: Snapshot, factors: dict[str, float], hidden: Iterable[str]) -> Snapshot:
    """The snapshot re-ranked for one viewer: authors scaled by feedback, requested-less posts out."""
    hidden = set(hidden)
    multipliers = np.array([factors.get(a, 1.0) for a in snapshot.authors], dtype=np.float64)
    visible = np.array([u not in hidden for u in snapshot.uris], dtype=bool)
    scores = snapshot.scores * multipliers
    ranked = [i for i in order(scores, snapshot.ids) if visible[i]]
    index = np.array(ranked, dtype=np.int64)
    base_encoded = snapshot.encoded_items()
    return Snapshot(
        snapshot_id=snapshot.snapshot_id,
        feed=snapshot.feed,
        built_ts=snapshot.built_ts,
        max_id=snapshot.max_id,
        ids=snapshot.ids[index],
        scores=scores[index],
        uris=[snapshot.uris[i] for i in ranked],
        authors=[snapshot.authors[i] for i in ranked],
        created_ts=snapshot.created_ts[index] if len(snapshot.created_ts) else snapshot.created_ts,
        likes=snapshot.likes[index] if len(snapshot.likes) else snapshot.likes,
        reposts=snapshot.reposts[index] if len(snapshot.reposts) else snapshot.reposts,
        _encoded=[base_encoded[i] for i in ranked],
    )


def position_after(snapshot: Snapshot, last_score: float, last_id: int) -> int:
    """Index of the first item ranked after (last_score, last_id): the fallback resume point.

    A relative tolerance of SCORE_EPSILON absorbs float noise in recomputed scores, so the last item
    served can never reappear (a near-tie below it may be skipped instead: missing beats repeating).
    """
    scores, margin = snapshot.scores, abs(last_score) * SCORE_EPSILON
    before = (scores > last_score + margin) | ((scores >= last_score - margin) & (snapshot.ids >= last_id))
    return int(np.count_nonzero(before))


@dataclass
class Page:
    """One cut page: pinned URIs, then snapshot indices; where the next page starts; the last rank key."""

    snapshot: Snapshot
    pins: list[str]
    indices: list[int]
    next_index: int
    last_score: float = math.inf
    last_id: int = 0
    exhausted: bool = False

    @property
    def items(self) -> list[dict]:
        """The skeleton items (`{"post", "reason"?}`)."""
        uris = self.snapshot.uris
        return [{"post": uri, "reason": PIN_REASON} for uri in self.pins] + [
            {"post": uris[i]} for i in self.indices
        ]

    def items_json(self) -> bytes:
        """The items as a JSON array, from the snapshot's pre-encoded items (the fast path)."""
        encoded = self.snapshot.encoded_items()
        parts = [orjson.dumps({"post": uri, "reason": PIN_REASON}) for uri in self.pins]
        parts.extend(encoded[i] for i in self.indices)
        return b"[" + b",".join(parts) + b"]"


def cut_page(
    snapshot: Snapshot,
    start: int,
    limit: int,
    moderation: Moderation,
    *,
    pins: list[str] = (),
    skip_ids: frozenset[int] = frozenset(),
) -> Page:
    """Up to `limit` items: `pins` first (first page only), then ranked items from `start` on.

    Banned posts/authors and `skip_ids` (pinned posts already shown) are passed over; the next
    page starts after the last item examined, so nothing is served twice.
    """
    pins = list(pins[:limit])
    wanted = limit - len(pins)
    indices: list[int] = []
    uris, authors, ids = snapshot.uris, snapshot.authors, snapshot.ids
    total = len(uris)
    index = start
    last_score, last_id = math.inf, 0
    banned_a, banned_p = moderation.banned_authors, moderation.banned_posts
    if not banned_a and not banned_p and not skip_ids:
        index = min(total, start + wanted)
        indices = list(range(start, index))
    else:
        while index < total and len(indices) < wanted:
            if (
                authors[index] not in banned_a
                and uris[index] not in banned_p
                and (not skip_ids or int(ids[index]) not in skip_ids)
            ):
                indices.append(index)
            index += 1
    if index > start:
        last_score, last_id = float(snapshot.scores[index - 1]), int(ids[index - 1])
    return Page(
        snapshot=snapshot,
        pins=pins,
        indices=indices,
        next_index=index,
        last_score=last_score,
        last_id=last_id,
        exhausted=index >= total,
    )
