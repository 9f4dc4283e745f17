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
import struct
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
import orjson

from feedserver.feeds import FeedDefinition
from feedserver.moderation import PIN_REASON, Moderation, visible_sql
from firehose.settings import Settings
from firehose.store.backend import Connection

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


ITEM_PREFIX = len(b'{"post":"')  # an item is {"post":"URI"}; a plain one is exactly that
ITEM_SUFFIX = len(b'"}')
SNAPSHOT_OVERHEAD_BYTES = 1024  # the object, its dicts and small fields, counted per snapshot
MAX_FOUND = 256  # uri -> id lookups (pins, `gitfeed feed`) remembered per snapshot
_WIRE_MAGIC = b"GFSNAP1\n"  # the compact form's first bytes (`Snapshot.to_bytes`)


@dataclass
class Snapshot:
    """One feed ranked at `built_ts`, over posts with id <= `max_id`, best first.

    Stored compactly (about 100 bytes an item, `nbytes`): every item's skeleton JSON (`{"post":"URI"}`)
    pre-encoded back to back, comma-separated, in one bytes buffer `items`, with `starts`/`ends` offsets
    (uint32) per rank; authors as int32 codes into `author_table`; `ids`/`scores` as arrays. A viewer's
    view (`personalize`) shares the buffer and the table and holds only its own reordered arrays
    (`contiguous` is False). Order: score descending, then id descending.
    """

    snapshot_id: str
    feed: str
    built_ts: float
    max_id: int
    ids: np.ndarray
    scores: np.ndarray
    items: bytes
    starts: np.ndarray
    ends: np.ndarray
    author_codes: np.ndarray
    author_table: list[str]
    contiguous: bool = True  # items[starts[i]:ends[j]] is ranks i..j, comma-separated
    plain: bool = True  # no item needed a JSON escape: the uri is the item's middle
    table_bytes: int = 0  # what `items` and `author_table` hold (shared by the views)
    _found: dict[str, int | None] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def ranked(
        cls,
        snapshot_id: str,
        feed: str,
        built_ts: float,
        max_id: int,
        ids: np.ndarray,
        scores: np.ndarray,
        uris: list[str],
        authors: list[str],
    ) -> Snapshot:
        """A snapshot from its ranked rows: encodes all items in one call, into one buffer."""
        count = len(uris)
        whole = orjson.dumps([{"post": uri} for uri in uris])  # one allocation, not one per item
        items = whole[1:-1]
        plain = b"\\" not in items
        if plain:  # each item is exactly {"post":"URI"}: its length follows from the uri's
            lengths = np.fromiter(
                (len(u) if u.isascii() else len(u.encode()) for u in uris), dtype=np.int64, count=count
            )
            lengths += ITEM_PREFIX + ITEM_SUFFIX
        else:
            lengths = np.fromiter((len(orjson.dumps({"post": u})) for u in uris), dtype=np.int64, count=count)
        ends = np.cumsum(lengths + 1) - 1
        starts = ends - lengths
        table: dict[str, int] = {}
        codes = np.fromiter((table.setdefault(a, len(table)) for a in authors), dtype=np.int32, count=count)
        author_table = list(table)
        table_bytes = len(items) + sys.getsizeof(author_table) + sum(sys.getsizeof(a) for a in author_table)
        return cls(
            snapshot_id=snapshot_id,
            feed=feed,
            built_ts=built_ts,
            max_id=max_id,
            ids=ids,
            scores=scores,
            items=items,
            starts=starts.astype(np.uint32),
            ends=ends.astype(np.uint32),
            author_codes=codes,
            author_table=author_table,
            plain=plain,
            table_bytes=table_bytes,
        )

    def to_bytes(self) -> bytes:
        """The snapshot's compact form, for publishing it through the store to the other servers
        (`feedserver.cluster`): a small JSON header, then the per-rank arrays and the item buffer as
        they are. `from_bytes` reads it back; a view (not contiguous) is never published."""
        if not self.contiguous:
            raise ValueError("only a ranked snapshot is published, not a viewer's view")
        header = orjson.dumps(
            {
                "id": self.snapshot_id,
                "feed": self.feed,
                "built_ts": self.built_ts,
                "max_id": self.max_id,
                "count": len(self.ids),
                "plain": self.plain,
                "authors": self.author_table,
            }
        )
        arrays = (
            self.ids.astype("<i8", copy=False),
            self.scores.astype("<f8", copy=False),
            self.starts.astype("<u4", copy=False),
            self.ends.astype("<u4", copy=False),
            self.author_codes.astype("<i4", copy=False),
        )
        return b"".join(
            [_WIRE_MAGIC, struct.pack("<I", len(header)), header, *(a.tobytes() for a in arrays), self.items]
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> Snapshot:
        """A snapshot from `to_bytes`; raises ValueError on anything else."""
        view = memoryview(data)
        if bytes(view[: len(_WIRE_MAGIC)]) != _WIRE_MAGIC:
            raise ValueError("not a published snapshot")
        at = len(_WIRE_MAGIC)
        (size,) = struct.unpack_from("<I", view, at)
        at += 4
        header = orjson.loads(view[at : at + size])
        at += size
        count = int(header["count"])
        arrays = []
        for dtype in ("<i8", "<f8", "<u4", "<u4", "<i4"):
            width = np.dtype(dtype).itemsize * count
            arrays.append(np.frombuffer(view[at : at + width], dtype=dtype).copy())
            at += width
        items = bytes(view[at:])
        ids, scores, starts, ends, codes = arrays
        author_table = list(header["authors"])
        table_bytes = len(items) + sys.getsizeof(author_table) + sum(sys.getsizeof(a) for a in author_table)
        return cls(
            snapshot_id=str(header["id"]),
            feed=str(header["feed"]),
            built_ts=float(header["built_ts"]),
            max_id=int(header["max_id"]),
            ids=ids.astype(np.int64, copy=False),
            scores=scores.astype(np.float64, copy=False),
            items=items,
            starts=starts.astype(np.uint32, copy=False),
            ends=ends.astype(np.uint32, copy=False),
            author_codes=codes.astype(np.int32, copy=False),
            author_table=author_table,
            plain=bool(header["plain"]),
            table_bytes=table_bytes,
        )

    @property
    def own_bytes(self) -> int:
        """Bytes of the per-rank arrays (all a view adds on top of its snapshot)."""
        arrays = (self.ids, self.scores, self.starts, self.ends, self.author_codes)
        return SNAPSHOT_OVERHEAD_BYTES + sum(a.nbytes for a in arrays)

    @property
    def nbytes(self) -> int:
        """What keeping this snapshot costs: its arrays, buffer and author table."""
        return self.own_bytes + self.table_bytes

    @property
    def frame(self) -> tuple[str, int, int]:
        """(feed, instant in ms, max post id): what a cursor can rebuild this snapshot from."""
        return (self.feed, round(self.built_ts * 1000), self.max_id)

    def item(self, index: int) -> bytes:
        return self.items[self.starts[index] : self.ends[index]]

    def uri(self, index: int) -> str:
        start, end = int(self.starts[index]), int(self.ends[index])
        if self.plain:
            return self.items[start + ITEM_PREFIX : end - ITEM_SUFFIX].decode()
        return orjson.loads(self.items[start:end])["post"]

    def author(self, index: int) -> str:
        return self.author_table[self.author_codes[index]]

    @property
    def uris(self) -> list[str]:
        """Every uri in rank order (decoded on demand: for display and tests, not the hot path)."""
        return [self.uri(i) for i in range(len(self))]

    def id_of(self, uri: str) -> int | None:
        """The post id of `uri` if it is in this snapshot (found in the buffer, remembered)."""
        if uri in self._found:
            return self._found[uri]
        needle = b"{" + orjson.dumps({"post": uri})[1:]  # the whole item: it cannot occur inside another
        offset = self.items.find(needle)
        found = None
        if offset >= 0:
            where = np.flatnonzero(self.starts == offset)
            found = int(self.ids[where[0]]) if len(where) else None
        if len(self._found) >= MAX_FOUND:
            self._found.clear()
        self._found[uri] = found
        return found


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
    conn: Connection,
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
    return Snapshot.ranked(
        secrets.token_hex(6),
        definition.name,
        now,
        max_id,
        ids[keep],
        scores[keep],
        [rows[i][1] for i in keep],
        [rows[i][2] for i in keep],
    )


def personalize(snapshot: Snapshot, factors: dict[str, float], hidden_ids: Iterable[int]) -> Snapshot:
    """The snapshot re-ranked for one viewer: authors scaled by feedback, requested-less posts out.

    Vectorized over the snapshot (one factor lookup per distinct author); shares the item buffer.
    """
    scores = snapshot.scores
    if factors:
        table = snapshot.author_table
        per_author = np.fromiter((factors.get(a, 1.0) for a in table), dtype=np.float64, count=len(table))
        scores = scores * per_author[snapshot.author_codes]
    ranked = order(scores, snapshot.ids)
    hidden = np.fromiter(hidden_ids, dtype=np.int64)
    if len(hidden):
        ranked = ranked[~np.isin(snapshot.ids[ranked], hidden)]
    return replace(
        snapshot,
        ids=snapshot.ids[ranked],
        scores=scores[ranked],
        starts=snapshot.starts[ranked],
        ends=snapshot.ends[ranked],
        author_codes=snapshot.author_codes[ranked],
        contiguous=False,
        _found={},
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
    indices: list[int] | range
    next_index: int
    last_score: float = math.inf
    last_id: int = 0
    exhausted: bool = False

    @property
    def items(self) -> list[dict]:
        """The skeleton items (`{"post", "reason"?}`)."""
        snapshot = self.snapshot
        return [{"post": uri, "reason": PIN_REASON} for uri in self.pins] + [
            {"post": snapshot.uri(i)} for i in self.indices
        ]

    def items_json(self) -> bytes:
        """The items as a JSON array, sliced from the snapshot's buffer (the fast path: a page of
        consecutive ranks of a snapshot is one slice)."""
        snapshot, indices = self.snapshot, self.indices
        parts = [orjson.dumps({"post": uri, "reason": PIN_REASON}) for uri in self.pins]
        if not indices:
            pass
        elif isinstance(indices, range) and snapshot.contiguous:
            parts.append(snapshot.items[snapshot.starts[indices.start] : snapshot.ends[indices.stop - 1]])
        else:
            items = snapshot.items
            starts, ends = snapshot.starts[indices].tolist(), snapshot.ends[indices].tolist()
            parts.extend(items[s:e] for s, e in zip(starts, ends, strict=True))
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
    indices: list[int] | range = []
    ids, total = snapshot.ids, len(snapshot)
    index = start
    last_score, last_id = math.inf, 0
    banned_a, banned_p = moderation.banned_authors, moderation.banned_posts
    if not banned_a and not banned_p and not skip_ids:
        index = min(total, start + wanted)
        indices = range(start, index)
    else:
        while index < total and len(indices) < wanted:
            if (
                (not banned_a or snapshot.author(index) not in banned_a)
                and (not banned_p or snapshot.uri(index) not in banned_p)
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
