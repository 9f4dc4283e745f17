"""Viewer feedback: sendInteractions checked and stored, and each viewer's requestLess/requestMore read back.

Ranking applies the result per viewer (`ranking.personalize`): an author's posts are scaled by
MORE_FACTOR / LESS_FACTOR per request (at most MAX_FEEDBACK_STEPS each way), and a post asked to see
less of is hidden from that viewer.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from feedserver.moderation import author_of

LESS_FACTOR = 0.25  # per requestLess on one of the author's posts
MORE_FACTOR = 2.0  # per requestMore
MAX_FEEDBACK_STEPS = 3
REQUEST_LESS = "app.bsky.feed.defs#requestLess"
REQUEST_MORE = "app.bsky.feed.defs#requestMore"
MAX_INTERACTIONS = 100


@dataclass
class ViewerFeedback:
    """One viewer's requestLess / requestMore events, each with its interactions.id."""

    events: list[tuple[int, str, str, str]] = field(default_factory=list)  # (id, event, author, item)

    def version(self) -> int:
        return self.events[-1][0] if self.events else 0

    def as_of(self, version: int) -> tuple[dict[str, float], frozenset[str]]:
        """Per-author factors and hidden items from the events up to `version` (what a cursor saw)."""
        less: Counter[str] = Counter()
        more: Counter[str] = Counter()
        hidden: set[str] = set()
        for event_id, event, author, item in self.events:
            if event_id > version:
                break
            if event == REQUEST_LESS:
                less[author] += 1
                hidden.add(item)
            elif event == REQUEST_MORE:
                more[author] += 1
        factors = {}
        for author in less.keys() | more.keys():
            steps = min(more[author], MAX_FEEDBACK_STEPS) - min(less[author], MAX_FEEDBACK_STEPS)
            factors[author] = MORE_FACTOR**steps if steps > 0 else LESS_FACTOR ** (-steps)
        return factors, frozenset(hidden)


def load_feedback(conn: sqlite3.Connection, after_id: int, into: dict[str, ViewerFeedback]) -> int:
    """Add requestLess/requestMore rows with id > after_id to `into`; return the new high-water id."""
    rows = conn.execute(
        "SELECT id, viewer, event, coalesce(author, ''), item FROM interactions"
        " WHERE id > ? AND event IN (?, ?) ORDER BY id",
        (after_id, REQUEST_LESS, REQUEST_MORE),
    ).fetchall()
    for event_id, viewer, event, author, item in rows:
        into.setdefault(viewer, ViewerFeedback()).events.append(
            (event_id, event, author or author_of(item), item)
        )
        after_id = event_id
    return after_id


@dataclass
class InteractionInput:
    """One validated item of sendInteractions."""

    item: str
    event: str
    feed_context: str | None


def validate_interactions(body: object) -> list[InteractionInput]:
    """Check a sendInteractions body; raise ValueError with a client-facing message."""
    if not isinstance(body, dict) or not isinstance(body.get("interactions"), list):
        raise ValueError("body must be an object with an interactions array")
    raw = body["interactions"]
    if len(raw) > MAX_INTERACTIONS:
        raise ValueError(f"at most {MAX_INTERACTIONS} interactions per call")
    items = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise ValueError("each interaction must be an object")
        item, event, context = entry.get("item"), entry.get("event"), entry.get("feedContext")
        if not isinstance(item, str) or not item.startswith("at://") or len(item) > 1000:
            raise ValueError("interaction item must be an at-uri")
        if not isinstance(event, str) or len(event) > 200:
            raise ValueError("interaction event must be a string")
        if context is not None and (not isinstance(context, str) or len(context) > 2000):
            raise ValueError("interaction feedContext must be a string of at most 2000 characters")
        items.append(InteractionInput(item=item, event=event, feed_context=context))
    return items


def store_interactions(
    conn: sqlite3.Connection, viewer: str, items: list[InteractionInput], now: float
) -> None:
    """Write a viewer's interactions in one transaction (the ranking reads requestLess / requestMore)."""
    rows = [(viewer, i.item, author_of(i.item) or None, i.event, i.feed_context, now) for i in items]
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO interactions (viewer, item, author, event, feed_context, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
