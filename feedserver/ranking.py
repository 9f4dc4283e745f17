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
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from feedserver.feeds import FeedDefinition
from feedserver.moderation import PIN_REASON, Moderation, visible_sql
from firehose.settings import Settings
from firehose.store.backend import Connection, read_transaction

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
COMPACT_MIN_BYTES = 1 << 20  # dead item bytes below this are not worth a compaction
WIRE_MAGIC = b"GFSNAP2\n"  # the compact form's first bytes (`Snapshot.to_bytes`); 2: item table
WIRE_PREFIX = b"GFSNAP"  # every version's (an older or newer one is refused by name)


class ItemTable:
    """Every kept snapshot's items stored once: each post's skeleton JSON (`{"post":"URI"}`)
    pre-encoded back to back in one bytes buffer, with its post id, its author (as an int code into
    one author list) and a count of the snapshots holding it. Consecutive snapshots of a feed (and
    feeds that share posts) share almost all their items, so a snapshot only adds its own order: an
    int32 slot per rank into this table (`Snapshot.slots`) and its scores.

    Entries are found by post id and checked by the uri's hash (SQLite can reuse the id of a deleted
    newest row: the new post gets an entry of its own). An entry no snapshot holds any more is freed
    at once (its slot reused); its bytes stay in the buffer until dead bytes outweigh live ones, then
    the buffer is compacted (slots keep their numbers, so snapshots are untouched). `nbytes` is what
    the table holds: the buffer (dead bytes included), the per-slot arrays, the index and the authors.

    Thread-safe: builds intern from worker threads, pages read on the event loop. Readers take the
    `(buffer, starts, ends)` triple at once (`state`); writers publish new ones, never edit them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[np.ndarray] = []  # slots given back while the table was busy
        self.state: tuple[bytes, np.ndarray, np.ndarray] = (
            b"",
            np.zeros(0, np.uint32),
            np.zeros(0, np.uint32),
        )
        self._size = 0  # slots handed out so far (live or free); the arrays may be longer
        self.ids = np.zeros(0, dtype=np.int64)  # per slot (a live slot's id never changes)
        self.author_codes = np.zeros(0, dtype=np.int32)  # per slot
        self._hashes = np.zeros(0, dtype=np.int64)
        self._refs = np.zeros(0, dtype=np.int32)
        self._indexed = np.zeros(0, dtype=bool)  # live and the entry its id is found by
        self._free: list[int] = []  # freed slots, reused first
        self._index_ids = np.zeros(0, dtype=np.int64)  # indexed slots' ids, sorted
        self._index_slots = np.zeros(0, dtype=np.int32)
        self._index_dirty = False  # entries freed since the index was sorted
        self.authors: list[str] = []  # code -> name ("" once freed)
        self._author_codes: dict[str, int] = {}
        self._author_refs: list[int] = []  # live entries per author
        self._free_authors: list[int] = []
        self._author_bytes = 0
        self.live_bytes = 0  # item bytes of live entries
        self.dead_bytes = 0  # item bytes of freed entries still in the buffer

    def __len__(self) -> int:
        """Live entries."""
        return self._size - len(self._free)

    @property
    def nbytes(self) -> int:
        """What the table holds: the buffer (dead bytes too), the arrays, the index, the authors."""
        buffer, starts, ends = self.state
        arrays = (starts, ends, self.ids, self.author_codes, self._hashes, self._refs, self._indexed)
        return (
            len(buffer)
            + sum(a.nbytes for a in arrays)
            + self._index_ids.nbytes
            + self._index_slots.nbytes
            + sys.getsizeof(self._author_codes)
            + sys.getsizeof(self.authors)
            + 8 * len(self._author_refs)
            + self._author_bytes
        )

    def intern(self, ids: np.ndarray, uris: list[str], authors: list[str]) -> np.ndarray:
        """The slots (int32) of these posts (ids unique), adding the ones not stored yet; each slot
        returned is held once more, until `release`."""
        count = len(uris)
        hashes = np.fromiter(map(hash, uris), dtype=np.int64, count=count)
        ids = np.asarray(ids, dtype=np.int64)
        with self._lock:
            self._drain()
            if self._index_dirty:
                self._reindex()
            slots = np.full(count, -1, dtype=np.int32)
            if len(self._index_ids) and count:
                where = np.minimum(np.searchsorted(self._index_ids, ids), len(self._index_ids) - 1)
                candidates = self._index_slots[where]
                same_id = self._index_ids[where] == ids
                hit = same_id & (self._hashes[candidates] == hashes)
                slots[hit] = candidates[hit]
                self._indexed[candidates[same_id & ~hit]] = False  # a reused id: the old post's entry
            missing = np.flatnonzero(slots < 0)
            if len(missing):
                new = [uris[i] for i in missing.tolist()]
                who = [authors[i] for i in missing.tolist()]
                slots[missing] = self._add(ids[missing], hashes[missing], new, who)
            self._refs[slots] += 1
            self._drain()  # what finalizers gave back meanwhile
            return slots

    def _add(self, ids: np.ndarray, hashes: np.ndarray, uris: list[str], authors: list[str]) -> np.ndarray:
        count = len(uris)
        encoded = orjson.dumps([{"post": uri} for uri in uris])[1:-1]  # one allocation, not one per item
        if b"\\" in encoded:  # some item needed an escape: measure each
            lengths = np.fromiter((len(orjson.dumps({"post": u})) for u in uris), dtype=np.int64, count=count)
        else:  # each item is exactly {"post":"URI"}: its length follows from the uri's
            lengths = np.fromiter(
                (len(u) if u.isascii() else len(u.encode()) for u in uris), dtype=np.int64, count=count
            )
            lengths += ITEM_PREFIX + ITEM_SUFFIX
        buffer, starts, ends = self.state
        offset = len(buffer) + 1 if buffer else 0  # items are comma-separated
        new_ends = offset + np.cumsum(lengths + 1) - 1
        reused = min(count, len(self._free))
        slots = np.empty(count, dtype=np.int32)
        slots[:reused] = [self._free.pop() for _ in range(reused)]
        slots[reused:] = np.arange(self._size, self._size + count - reused, dtype=np.int32)
        self._size += count - reused
        size = self._size
        starts, ends = _grown(starts, size, copy=True), _grown(ends, size, copy=True)
        self.ids, self.author_codes = _grown(self.ids, size), _grown(self.author_codes, size)
        self._hashes, self._refs = _grown(self._hashes, size), _grown(self._refs, size)
        self._indexed = _grown(self._indexed, size)
        starts[slots], ends[slots] = new_ends - lengths, new_ends
        self.ids[slots], self._hashes[slots] = ids, hashes
        self.author_codes[slots] = [self._author(a) for a in authors]
        self._refs[slots] = 0
        self._indexed[slots] = True
        self.state = (buffer + b"," + encoded if buffer else encoded, starts, ends)
        self.live_bytes += int(lengths.sum())
        self._reindex()
        return slots

    def _author(self, name: str) -> int:
        code = self._author_codes.get(name)
        if code is None:
            if self._free_authors:
                code = self._free_authors.pop()
                self.authors[code] = name
            else:
                code = len(self.authors)
                self.authors.append(name)
                self._author_refs.append(0)
            self._author_codes[name] = code
            self._author_bytes += sys.getsizeof(name)
        self._author_refs[code] += 1
        return code

    def _reindex(self) -> None:
        indexed = np.flatnonzero(self._indexed[: self._size]).astype(np.int32)
        order = np.argsort(self.ids[indexed], kind="stable")
        self._index_ids, self._index_slots = self.ids[indexed][order], indexed[order]
        self._index_dirty = False

    def release(self, slots: np.ndarray) -> None:
        """Give back slots held by `intern` (a snapshot's finalizer); entries nobody holds are freed.

        Never waits: a finalizer can run on the event loop, or inside `intern` itself (the garbage
        collector runs at any allocation), so while the table is busy the slots are left for whoever
        holds it to give back (`_drain`, before it lets go)."""
        self._pending.append(slots)  # atomic under the GIL
        while self._pending and self._lock.acquire(blocking=False):
            try:
                self._drain()
            finally:
                self._lock.release()

    def _drain(self) -> None:
        while self._pending:
            self._release(self._pending.pop())

    def _release(self, slots: np.ndarray) -> None:
        self._refs[slots] -= 1
        freed = slots[self._refs[slots] == 0]
        if not len(freed):
            return
        _, starts, ends = self.state
        size = int((ends[freed] - starts[freed]).sum())
        self.live_bytes -= size
        self.dead_bytes += size
        for code in self.author_codes[freed].tolist():
            self._author_refs[code] -= 1
            if not self._author_refs[code]:
                name = self.authors[code]
                del self._author_codes[name]
                self._author_bytes -= sys.getsizeof(name)
                self.authors[code] = ""
                self._free_authors.append(code)
        self._indexed[freed] = False
        self._free.extend(freed.tolist())
        self._index_dirty = True  # sorted again by the next intern (in a worker thread)
        if self.dead_bytes > max(self.live_bytes, COMPACT_MIN_BYTES):
            self._compact()

    def _compact(self) -> None:
        """A new buffer of the live entries only (slots keep their numbers)."""
        buffer, starts, ends = self.state
        live = np.flatnonzero(self._refs[: self._size] > 0)
        parts = [buffer[s:e] for s, e in zip(starts[live].tolist(), ends[live].tolist(), strict=True)]
        lengths = ends[live] - starts[live]
        new_ends = np.cumsum(lengths + 1) - 1
        starts, ends = np.zeros_like(starts), np.zeros_like(ends)
        starts[live], ends[live] = new_ends - lengths, new_ends
        self.state = (b",".join(parts), starts, ends)
        self.dead_bytes = 0

    def item_bytes(self, slots: np.ndarray) -> list[bytes]:
        """The pre-encoded items of these slots, in order."""
        buffer, starts, ends = self.state
        return [buffer[s:e] for s, e in zip(starts[slots].tolist(), ends[slots].tolist(), strict=True)]

    def hashes(self, slots: np.ndarray) -> np.ndarray:
        return self._hashes[slots]

    def codes_of(self, values: dict[str, float]) -> dict[int, float]:
        """`values` by author code, for the authors this table has (the others are in no snapshot)."""
        codes = self._author_codes
        return {codes[name]: value for name, value in values.items() if name in codes}


def _grown(array: np.ndarray, size: int, *, copy: bool = False) -> np.ndarray:
    """`array` with room for `size` entries (grown by a quarter at least; new entries zero); a new
    array when `copy` (one that readers may hold is never edited)."""
    if size <= len(array):
        return array.copy() if copy else array
    out = np.zeros(max(size, len(array) + len(array) // 4, 64), dtype=array.dtype)
    out[: len(array)] = array
    return out


@dataclass(eq=False)
class Snapshot:
    """One feed ranked at `built_ts`, over posts with id <= `max_id`, best first.

    Stored compactly (`own_bytes`, about 12 bytes a rank): per rank a slot (int32) into the shared
    `ItemTable` (which holds each post's pre-encoded item, id and author once for every snapshot) and
    the score (float64). A viewer's view (`personalize`) holds only its own reordered slots and scores,
    and its snapshot (`base`), so the snapshot's entries stay held while the view is in use.
    Order: score descending, then id descending.
    """

    snapshot_id: str
    feed: str
    built_ts: float
    max_id: int
    table: ItemTable
    slots: np.ndarray
    scores: np.ndarray
    base: Snapshot | None = None  # a view's snapshot
    _found: dict[str, int | None] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.slots)

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
        *,
        table: ItemTable | None = None,
    ) -> Snapshot:
        """A snapshot from its ranked rows, its items interned in `table` (a table of its own if None)."""
        table = ItemTable() if table is None else table
        slots = table.intern(ids, uris, authors)
        snapshot = cls(
            snapshot_id, feed, built_ts, max_id, table, slots, np.asarray(scores, dtype=np.float64)
        )
        weakref.finalize(snapshot, table.release, slots).atexit = False
        return snapshot

    def view(self, order: np.ndarray, scores: np.ndarray) -> Snapshot:
        """This snapshot's ranks reordered (or some left out) for one viewer: shares the table."""
        base = self if self.base is None else self.base
        return Snapshot(
            self.snapshot_id,
            self.feed,
            self.built_ts,
            self.max_id,
            self.table,
            self.slots[order],
            scores,
            base,
        )

    def to_bytes(self) -> bytes:
        """The snapshot's compact form, for publishing it through the store to the other servers
        (`feedserver.cluster`): what `ranked` needs and nothing of this server's table. A small JSON
        header (id, feed, instant, max id, count, the distinct authors), then per rank the id (<i8),
        the score (<f8) and the author's code into the header's list (<i4), then the uris as one JSON
        array. `from_bytes` interns it into the receiving server's table; a view is never published."""
        if self.base is not None:
            raise ValueError("only a ranked snapshot is published, not a viewer's view")
        distinct, codes = np.unique(self.author_codes, return_inverse=True)
        header = orjson.dumps(
            {
                "id": self.snapshot_id,
                "feed": self.feed,
                "built_ts": self.built_ts,
                "max_id": self.max_id,
                "count": len(self),
                "authors": [self.table.authors[code] for code in distinct.tolist()],
            }
        )
        arrays = (
            self.ids.astype("<i8", copy=False),
            self.scores.astype("<f8", copy=False),
            codes.astype("<i4", copy=False),
        )
        return b"".join(
            [
                WIRE_MAGIC,
                struct.pack("<I", len(header)),
                header,
                *(a.tobytes() for a in arrays),
                orjson.dumps(self.uris),
            ]
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, table: ItemTable | None = None) -> Snapshot:
        """A snapshot from `to_bytes`, its items interned in `table` (the server's shared one; a table
        of its own if None); raises ValueError on anything else, an older or newer format included."""
        view = memoryview(data)
        magic = bytes(view[: len(WIRE_MAGIC)])
        if magic != WIRE_MAGIC:
            if magic.startswith(WIRE_PREFIX):
                raise ValueError(
                    f"published snapshot is format {magic.decode(errors='replace').strip()}, this"
                    f" server reads {WIRE_MAGIC.decode().strip()} (written by another gitfeed version)"
                )
            raise ValueError("not a published snapshot")
        try:
            at = len(WIRE_MAGIC)
            (size,) = struct.unpack_from("<I", view, at)
            at += 4
            header = orjson.loads(view[at : at + size])
            at += size
            count, authors = int(header["count"]), list(header["authors"])
            if count < 0 or not all(isinstance(author, str) for author in authors):
                raise ValueError("published snapshot is inconsistent")
            arrays = []
            for dtype in ("<i8", "<f8", "<i4"):
                width = np.dtype(dtype).itemsize * count
                if at + width > len(view):
                    raise ValueError("published snapshot is truncated")
                arrays.append(np.frombuffer(view[at : at + width], dtype=dtype))
                at += width
            uris = orjson.loads(view[at:])
            ids, scores, codes = arrays
            if (
                not isinstance(uris, list)
                or len(uris) != count
                or not all(isinstance(uri, str) for uri in uris)
                or (count and not 0 <= codes.min() <= codes.max() < len(authors))
            ):
                raise ValueError("published snapshot is inconsistent")
            return cls.ranked(
                str(header["id"]),
                str(header["feed"]),
                float(header["built_ts"]),
                int(header["max_id"]),
                ids.astype(np.int64),
                scores.astype(np.float64),
                uris,
                [authors[code] for code in codes.tolist()],
                table=table,
            )
        except (KeyError, TypeError, struct.error) as error:
            raise ValueError(f"published snapshot is malformed ({error!r})") from error

    @property
    def ids(self) -> np.ndarray:
        """Post ids in rank order (gathered from the table)."""
        return self.table.ids[self.slots]

    @property
    def author_codes(self) -> np.ndarray:
        return self.table.author_codes[self.slots]

    @property
    def own_bytes(self) -> int:
        """Bytes of the per-rank arrays (all a snapshot or a view adds on top of the shared table)."""
        return SNAPSHOT_OVERHEAD_BYTES + self.slots.nbytes + self.scores.nbytes

    @property
    def nbytes(self) -> int:
        """What keeping this snapshot alone costs: its arrays and its table (shared by the others)."""
        return self.own_bytes + self.table.nbytes

    @property
    def frame(self) -> tuple[str, int, int]:
        """(feed, instant in ms, max post id): what a cursor can rebuild this snapshot from."""
        return (self.feed, round(self.built_ts * 1000), self.max_id)

    def id_at(self, index: int) -> int:
        return int(self.table.ids[self.slots[index]])

    def item(self, index: int) -> bytes:
        return self.table.item_bytes(self.slots[index : index + 1])[0]

    def items(self, indices: list[int] | range) -> list[bytes]:
        """The pre-encoded items at these ranks."""
        if isinstance(indices, range) and indices.step == 1:
            return self.table.item_bytes(self.slots[indices.start : indices.stop])
        return self.table.item_bytes(self.slots[list(indices)])

    def uri(self, index: int) -> str:
        return _uri_of(self.item(index))

    def author(self, index: int) -> str:
        return self.table.authors[self.table.author_codes[self.slots[index]]]

    @property
    def uris(self) -> list[str]:
        """Every uri in rank order (decoded on demand: for display and tests, not the hot path)."""
        return [_uri_of(item) for item in self.items(range(len(self)))]

    def id_of(self, uri: str) -> int | None:
        """The post id of `uri` if it is in this snapshot (found by the uri's hash, checked, remembered)."""
        if uri in self._found:
            return self._found[uri]
        found = None
        for index in np.flatnonzero(self.table.hashes(self.slots) == hash(uri)).tolist():
            if self.uri(index) == uri:
                found = self.id_at(index)
                break
        if len(self._found) >= MAX_FOUND:
            self._found.clear()
        self._found[uri] = found
        return found


def _uri_of(item: bytes) -> str:
    if b"\\" in item:
        return orjson.loads(item)["post"]
    return item[ITEM_PREFIX:-ITEM_SUFFIX].decode()


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


_NUMERIC = ("id", "score_github", "score_ml", "like_count", "repost_count", "created_ts", "indexed_ts")
ID_CHUNK = 900  # ids per `IN (...)` when reading the kept rows' uris (under SQLite's 999 variables)
ROW_CHUNK = 2048  # candidate rows converted at a time (the GIL is free between chunks)


def build_snapshot(
    conn: Connection,
    definition: FeedDefinition,
    weights: RankWeights,
    *,
    now: float | None = None,
    max_id: int | None = None,
    table: ItemTable | None = None,
) -> Snapshot:
    """Rank one feed from the store. `now`/`max_id` rebuild a past snapshot's frame (cursor fallback);
    its items go into `table` (the server's shared one; a table of its own if None).

    Candidates are the newest posts of the feed inside the decay horizon (a few per kept slot);
    replies (unless settings include them) and posts of inactive accounts are left out here.
    The candidates' numeric columns are read in one query (straight into one float array), and the
    uris and authors of the kept ones only, by id, in the same read transaction.
    """
    # Millisecond instant: exactly what a cursor carries, so a rebuild from a cursor scores identically.
    now = round((time.time() if now is None else now) * 1000) / 1000
    horizon = min(weights.retention_seconds, DECAY_HORIZON_HALF_LIVES * weights.half_life_hours * 3600.0)
    if definition.newest_first:
        horizon = weights.retention_seconds
    cap = weights.max_posts if definition.newest_first else weights.max_posts * CANDIDATES_PER_SLOT
    sql = f"""
        SELECT {", ".join(_NUMERIC)} FROM posts
        WHERE created_ts >= :since AND id <= :max_id
          AND {definition.where} AND {visible_sql(weights.include_replies)}
        ORDER BY created_ts DESC LIMIT :cap
    """
    with read_transaction(conn):
        if max_id is None:
            row = conn.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()
            max_id = int(row[0])
        params = {"since": now - horizon, "max_id": max_id, "cap": cap, **weights.thresholds}
        numeric = _float_rows(conn.execute(sql, params), len(_NUMERIC))
        ids = numeric[:, 0].astype(np.int64)  # exact: ids are far below 2**53
        columns = {name: numeric[:, i] for i, name in enumerate(_NUMERIC) if i}
        scores = score(definition, columns, now, weights)
        keep = order(scores, ids)[: weights.max_posts]
        names = _uris_and_authors(conn, ids[keep].tolist())
    found = np.fromiter((int(i) in names for i in ids[keep]), dtype=bool, count=len(keep))
    keep = keep[found]  # none missing inside one read transaction; kept as a guard
    kept_ids = ids[keep].tolist()
    return Snapshot.ranked(
        secrets.token_hex(6),
        definition.name,
        now,
        max_id,
        ids[keep],
        scores[keep],
        [names[i][0] for i in kept_ids],
        [names[i][1] for i in kept_ids],
        table=table,
    )


def _float_rows(cursor: Any, width: int) -> np.ndarray:  # noqa: ANN401 - a DB-API cursor
    """A cursor's numeric rows as one float64 array, converted ROW_CHUNK rows at a time. Why: one
    `np.array` over 40,000 rows holds the GIL for 25 ms or more, and every request on the event loop
    waits that long; between chunks the loop gets it back."""
    parts = []
    while rows := cursor.fetchmany(ROW_CHUNK):
        parts.append(np.array(rows, dtype=np.float64).reshape(len(rows), width))
    return np.concatenate(parts) if parts else np.zeros((0, width), dtype=np.float64)


def _uris_and_authors(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
    out: dict[int, tuple[str, str]] = {}
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        marks = ",".join("?" * len(chunk))
        for post_id, uri, author in conn.execute(
            f"SELECT id, uri, author FROM posts WHERE id IN ({marks})", chunk
        ).fetchall():
            out[post_id] = (uri, author)
    return out


def personalize(snapshot: Snapshot, factors: dict[str, float], hidden_ids: Iterable[int]) -> Snapshot:
    """The snapshot re-ranked for one viewer: authors scaled by feedback, requested-less posts out.

    Vectorized over the snapshot (one lookup per author the viewer has feedback on); shares the table.
    """
    scores, ids = snapshot.scores, snapshot.ids
    if factors:
        codes = snapshot.table.codes_of(factors)
        if codes:
            per_author = np.ones(len(snapshot.table.authors), dtype=np.float64)
            per_author[list(codes)] = list(codes.values())
            scores = scores * per_author[snapshot.author_codes]
    ranked = order(scores, ids)
    hidden = np.fromiter(hidden_ids, dtype=np.int64)
    if len(hidden):
        ranked = ranked[~np.isin(ids[ranked], hidden)]
    return snapshot.view(ranked, scores[ranked])


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
        """The items as a JSON array, joined from the table's pre-encoded items."""
        parts = [orjson.dumps({"post": uri, "reason": PIN_REASON}) for uri in self.pins]
        if self.indices:
            parts.extend(self.snapshot.items(self.indices))
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
    total = len(snapshot)
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
                and (not skip_ids or snapshot.id_at(index) not in skip_ids)
            ):
                indices.append(index)
            index += 1
    if index > start:
        last_score, last_id = float(snapshot.scores[index - 1]), snapshot.id_at(index - 1)
    return Page(
        snapshot=snapshot,
        pins=pins,
        indices=indices,
        next_index=index,
        last_score=last_score,
        last_id=last_id,
        exhausted=index >= total,
    )
