"""Viewer feedback: sendInteractions checked and stored, and each viewer's requestLess/requestMore read back.

Ranking applies the result per viewer (`ranking.personalize`): an author's posts are scaled by
MORE_FACTOR / LESS_FACTOR per request (at most MAX_FEEDBACK_STEPS each way), and a post asked to see
less of is hidden from that viewer.

Bounded whatever one viewer sends: at most FEEDGEN_FEEDBACK_MAX_PER_VIEWER events kept per viewer (in
memory and in the store, oldest dropped), none older than FEEDGEN_FEEDBACK_RETENTION_DAYS, totals kept
current as events come and go (reading the current state replays nothing; a past state replays at
most the cap), and what was dropped counted (`FeedbackBook.stats`).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass

from feedserver.moderation import author_of
from firehose.decode.syntax import is_at_uri
from firehose.store import labels
from firehose.store.backend import LOCK_FEEDBACK, Connection, commit_in_id_order, write_transaction

LESS_FACTOR = 0.25  # per requestLess on one of the author's posts
MORE_FACTOR = 2.0  # per requestMore
MAX_FEEDBACK_STEPS = 3
REQUEST_LESS = "app.bsky.feed.defs#requestLess"
REQUEST_MORE = "app.bsky.feed.defs#requestMore"
# What of an interaction is stored; longer (valid) values are skipped and counted, not refused.
MAX_ITEM_CHARS = 1000
MAX_EVENT_CHARS = 200
# The lexicon's own limits (app.bsky.feed.defs#interaction): past them the body is invalid.
MAX_CONTEXT_CHARS = 2000
MAX_REQ_ID_CHARS = 100
LOAD_BATCH_ROWS = 5000  # rows read per query when loading feedback
SWEEP_SECONDS = 60.0  # how often every viewer is pruned by age
BUDGET_REFILL_SECONDS = 60.0  # a viewer's store budget refills in full over this long
BUDGET_MAX_VIEWERS = 50_000  # viewers whose budget is tracked (least recently seen forgotten: full again)


@dataclass(frozen=True)
class FeedbackEvent:
    """One requestLess / requestMore, as ranking uses it (`post_id` None: the post is not stored)."""

    id: int
    event: str
    author: str
    post_id: int | None
    ts: float


class ViewerFeedback:
    """One viewer's newest requestLess / requestMore events (at most `cap`), with their totals kept
    up to date as events come and go, so the current state costs nothing to read and a past state
    (what an older cursor saw) replays at most `cap` events."""

    def __init__(self, cap: int = 500) -> None:
        self.cap = cap
        self.events: deque[FeedbackEvent] = deque()
        self.less: Counter[str] = Counter()
        self.more: Counter[str] = Counter()
        self.hidden: Counter[int] = Counter()
        self.lock = threading.Lock()
        self.replayed = 0  # events replayed for past versions (bounded work, counted)
        self._latest: tuple[dict[str, float], frozenset[int]] | None = None

    def __len__(self) -> int:
        return len(self.events)

    def version(self) -> int:
        events = self.events
        return events[-1].id if events else 0

    def _count(self, event: FeedbackEvent, step: int) -> None:
        counter = self.less if event.event == REQUEST_LESS else self.more
        counter[event.author] += step
        if counter[event.author] <= 0:
            del counter[event.author]
        if event.event == REQUEST_LESS and event.post_id is not None:
            self.hidden[event.post_id] += step
            if self.hidden[event.post_id] <= 0:
                del self.hidden[event.post_id]

    def add(self, event: FeedbackEvent) -> int:
        """Keep a new event (ids ascending); drop the oldest past the cap. Returns how many dropped."""
        with self.lock:
            if self.events and event.id <= self.events[-1].id:
                return 0
            self.events.append(event)
            self._count(event, 1)
            dropped = 0
            while len(self.events) > self.cap:
                self._count(self.events.popleft(), -1)
                dropped += 1
            self._latest = None
            return dropped

    def prune(self, before_ts: float) -> int:
        """Drop events older than `before_ts`; returns how many."""
        with self.lock:
            dropped = 0
            while self.events and self.events[0].ts < before_ts:
                self._count(self.events.popleft(), -1)
                dropped += 1
            if dropped:
                self._latest = None
            return dropped

    def as_of(self, version: int) -> tuple[dict[str, float], frozenset[int]]:
        """Per-author factors and hidden post ids from the events up to `version` (what a cursor saw)."""
        with self.lock:
            if version >= self.version():
                if self._latest is None:
                    self._latest = (_factors(self.less, self.more), frozenset(self.hidden))
                return self._latest
            less: Counter[str] = Counter()
            more: Counter[str] = Counter()
            hidden: set[int] = set()
            for event in self.events:
                if event.id > version:
                    break
                self.replayed += 1
                if event.event == REQUEST_LESS:
                    less[event.author] += 1
                    if event.post_id is not None:
                        hidden.add(event.post_id)
                else:
                    more[event.author] += 1
            return _factors(less, more), frozenset(hidden)


def _factors(less: Counter[str], more: Counter[str]) -> dict[str, float]:
    factors = {}
    for author in less.keys() | more.keys():
        steps = min(more[author], MAX_FEEDBACK_STEPS) - min(less[author], MAX_FEEDBACK_STEPS)
        if steps:
            factors[author] = MORE_FACTOR**steps if steps > 0 else LESS_FACTOR ** (-steps)
    return factors


class FeedbackBook:
    """Every viewer's feedback in memory, read from the store in bounded batches (by the service in a
    worker thread, never on the event loop) and bounded per viewer by count and age.

    `stats` counts the work and what was dropped: `loads`, `rows_loaded`, `dropped_cap` (past
    FEEDGEN_FEEDBACK_MAX_PER_VIEWER), `dropped_age` (past FEEDGEN_FEEDBACK_RETENTION_DAYS); the
    service adds `dropped_disk_full` (interactions not stored because the disk was full) and
    `dropped_rate` (past a viewer's `InteractionBudget`).
    """

    def __init__(self, cap: int, retention_seconds: float) -> None:
        self.cap = cap
        self.retention_seconds = retention_seconds
        self.viewers: dict[str, ViewerFeedback] = {}
        self.seen = 0  # the highest interactions.id applied
        self.lock = threading.Lock()  # one loader at a time
        self.stats: Counter[str] = Counter()
        self._next_sweep = 0.0

    def get(self, viewer: str | None) -> ViewerFeedback | None:
        return self.viewers.get(viewer) if viewer else None

    def version(self, viewer: str | None) -> int:
        feedback = self.get(viewer)
        return feedback.version() if feedback else 0

    def rows_kept(self) -> int:
        return sum(len(f) for f in list(self.viewers.values()))

    def load(self, conn: Connection, now: float) -> int:
        """Apply feedback rows newer than `seen` (LOAD_BATCH_ROWS at a time), prune by age; runs SQL."""
        with self.lock:
            self.stats["loads"] += 1
            horizon = now - self.retention_seconds
            while True:
                rows = conn.execute(
                    "SELECT i.id, i.viewer, i.event, coalesce(i.author, ''), i.item, i.created_ts, p.id"
                    " FROM interactions i LEFT JOIN posts p ON p.uri = i.item"
                    " WHERE i.id > ? AND i.event IN (?, ?) ORDER BY i.id LIMIT ?",
                    (self.seen, REQUEST_LESS, REQUEST_MORE, LOAD_BATCH_ROWS),
                ).fetchall()
                for event_id, viewer, event, author, item, ts, post_id in rows:
                    self.seen = event_id
                    if ts < horizon:
                        self.stats["dropped_age"] += 1
                        continue
                    feedback = self.viewers.get(viewer)
                    if feedback is None:
                        feedback = self.viewers[viewer] = ViewerFeedback(self.cap)
                    self.stats["dropped_cap"] += feedback.add(
                        FeedbackEvent(event_id, event, author or author_of(item), post_id, ts)
                    )
                self.stats["rows_loaded"] += len(rows)
                if len(rows) < LOAD_BATCH_ROWS:
                    break
            if now >= self._next_sweep:
                self._next_sweep = now + SWEEP_SECONDS
                for viewer, feedback in list(self.viewers.items()):
                    self.stats["dropped_age"] += feedback.prune(horizon)
                    if not len(feedback):
                        del self.viewers[viewer]
            return self.seen


class InteractionBudget:
    """How many interactions each viewer may have stored: a token bucket of `capacity` (the per-viewer
    cap) refilled over BUDGET_REFILL_SECONDS. Past it a call is still answered 200 and what did not fit
    is counted, never written: the cap on kept rows bounds memory, this bounds the work (an insert, a
    prune and a reload per call) that one account can make the server do. The Bluesky app sends a
    viewer's seen posts every few seconds, far inside it."""

    def __init__(self, capacity: int, refill_seconds: float = BUDGET_REFILL_SECONDS) -> None:
        self.capacity = capacity
        self.rate = capacity / refill_seconds
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # viewer -> (tokens, at)
        self._lock = threading.Lock()

    def admit(self, viewer: str, wanted: int, now: float) -> int:
        """How many of `wanted` interactions may be stored now (taken from the viewer's budget)."""
        with self._lock:
            tokens, at = self._buckets.pop(viewer, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + max(0.0, now - at) * self.rate)
            granted = min(wanted, int(tokens))
            self._buckets[viewer] = (tokens - granted, now)
            while len(self._buckets) > BUDGET_MAX_VIEWERS:
                self._buckets.popitem(last=False)
            return granted


@dataclass
class InteractionInput:
    """One usable item of sendInteractions."""

    item: str
    event: str
    feed_context: str | None


@dataclass
class ParsedInteractions:
    """A sendInteractions body read: the interactions to store, and how many were skipped."""

    items: list[InteractionInput]
    skipped: int = 0


def parse_interactions(body: object) -> ParsedInteractions:
    """Read a sendInteractions body as the lexicon defines it; raise ValueError (a client-facing
    message) only for a body the lexicon refuses.

    `app.bsky.feed.sendInteractions` puts no cap on the array and makes every field of
    `app.bsky.feed.defs#interaction` optional, and the Bluesky app sends all it has seen in one call,
    so a valid body is never refused for its length or for one odd interaction: an interaction
    without `item` or `event`, with an `item` longer than MAX_ITEM_CHARS or an `event` longer than
    MAX_EVENT_CHARS is skipped and counted, the rest stored. What one request may cost is bounded by
    the body size (FEEDGEN_MAX_BODY_BYTES), not by the count.
    """
    if not isinstance(body, dict) or not isinstance(body.get("interactions"), list):
        raise ValueError("body must be an object with an interactions array")
    items: list[InteractionInput] = []
    skipped = 0
    for entry in body["interactions"]:
        if not isinstance(entry, dict):
            raise ValueError("each interaction must be an object")
        item, event = entry.get("item"), entry.get("event")
        context, req_id = entry.get("feedContext"), entry.get("reqId")
        if item is not None and (not isinstance(item, str) or not is_at_uri(item)):
            raise ValueError("interaction item must be an at-uri")
        if event is not None and not isinstance(event, str):
            raise ValueError("interaction event must be a string")
        if context is not None and (not isinstance(context, str) or len(context) > MAX_CONTEXT_CHARS):
            raise ValueError(
                f"interaction feedContext must be a string of at most {MAX_CONTEXT_CHARS} characters"
            )
        if req_id is not None and (not isinstance(req_id, str) or len(req_id) > MAX_REQ_ID_CHARS):
            raise ValueError(f"interaction reqId must be a string of at most {MAX_REQ_ID_CHARS} characters")
        if item is None or event is None or len(item) > MAX_ITEM_CHARS or len(event) > MAX_EVENT_CHARS:
            skipped += 1
            continue
        items.append(InteractionInput(item=item, event=event, feed_context=context))
    return ParsedInteractions(items, skipped)


def store_interactions(
    conn: Connection,
    viewer: str,
    items: list[InteractionInput],
    now: float,
    *,
    cap: int,
    retention_seconds: float,
    prune_all: bool = False,
    label_queue_max: int = 0,
) -> int:
    """Write a viewer's interactions in one transaction (the ranking reads requestLess / requestMore),
    keeping at most `cap` of this viewer's feedback rows and `cap` of their other rows, none older than
    `retention_seconds`; `prune_all` also drops every viewer's rows past that age. A requestLess on a
    stored post also puts it in the operator's label queue (`show_less`, at most `label_queue_max`
    of them, the oldest dropped). Returns rows pruned."""
    rows = [(viewer, i.item, author_of(i.item) or None, i.event, i.feed_context, now) for i in items]
    horizon = now - retention_seconds
    with write_transaction(conn):
        commit_in_id_order(conn, LOCK_FEEDBACK)  # several servers write feedback: `seen` stays exact
        conn.executemany(
            "INSERT INTO interactions (viewer, item, author, event, feed_context, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        less = [i.item for i in items if i.event == REQUEST_LESS]
        if less and label_queue_max:
            labels.show_less(conn, less, label_queue_max, now)
        pruned = 0
        params = {"viewer": viewer, "less": REQUEST_LESS, "more": REQUEST_MORE, "horizon": horizon}
        for negate in ("", "NOT "):
            kind = f"viewer = :viewer AND event {negate}IN (:less, :more)"
            pruned += conn.execute(
                f"DELETE FROM interactions WHERE {kind} AND (created_ts < :horizon OR id <= coalesce("
                f"(SELECT id FROM interactions WHERE {kind} ORDER BY id DESC LIMIT 1 OFFSET :cap), 0))",
                params | {"cap": cap},
            ).rowcount
        if prune_all:
            # ids grow with time: everything before the first row inside the retention age goes
            pruned += conn.execute(
                "DELETE FROM interactions WHERE id < coalesce("
                "(SELECT id FROM interactions WHERE created_ts >= ? ORDER BY id LIMIT 1), 0)",
                (horizon,),
            ).rowcount
    return pruned
