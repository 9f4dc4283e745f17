"""Moderation, in one place: what keeps a stored post out of the feeds, what is pinned, and the writes.

- The rules: replies (unless FEEDGEN_INCLUDE_REPLIES) and posts of inactive accounts are never
  candidates (`visible_sql`, part of every feed's query); banned authors and posts are passed over
  when a page is cut, and pins go first (`Moderation`, read by `load_moderation`).
- `hidden_reasons` says the same rules in words, for `gitfeed explain`.
- The writes behind `gitfeed ban/pin` and the operator page go to the `bans`/`pins` tables; the
  schema's triggers bump the moderation version, so every serving process applies them on its next
  request, without a restart.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from feedserver.feeds import FEEDS
from firehose.store.backend import Connection

POST_URI = re.compile(r"^at://did:[a-z]+:[A-Za-z0-9._:%-]+/app\.bsky\.feed\.post/[A-Za-z0-9._:~-]+$")
DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]+$")
BSKY_POST_URL = re.compile(r"^https://bsky\.app/profile/([^/\s]+)/post/([A-Za-z0-9._:~-]+)/?$")


PIN_REASON = {"$type": "app.bsky.feed.defs#skeletonReasonPin"}
MAX_PINS = 5
INACTIVE_AUTHORS = "SELECT did FROM accounts WHERE active = 0"


class ModerationError(ValueError):
    """Input that names no post, author, feed, ban or pin; the message is shown to the operator."""


@dataclass(frozen=True)
class Moderation:
    """Bans and pins as of `version` (server_state.moderation_version)."""

    version: int = -1
    banned_authors: frozenset[str] = frozenset()
    banned_posts: frozenset[str] = frozenset()
    pins: tuple[tuple[str, str], ...] = ()  # (uri, feed or '*'), newest pin first
    ban_reasons: dict[tuple[str, str], str] = field(default_factory=dict, compare=False)  # (kind, value)

    def allows(self, uri: str, author: str) -> bool:
        return author not in self.banned_authors and uri not in self.banned_posts

    def pins_for(self, feed: str) -> list[str]:
        """Pinned URIs shown on the first page of `feed`, banned ones left out."""
        shown: list[str] = []
        for uri, pin_feed in self.pins:
            if pin_feed in ("*", feed) and uri not in shown and self.allows(uri, author_of(uri)):
                shown.append(uri)
        return shown[:MAX_PINS]


def moderation_version(conn: Connection) -> int:
    row = conn.execute("SELECT value FROM server_state WHERE name = 'moderation_version'").fetchone()
    return int(row[0]) if row else 0


def load_moderation(conn: Connection) -> Moderation:
    version = moderation_version(conn)
    bans = conn.execute("SELECT kind, value, reason FROM bans").fetchall()
    pins = conn.execute("SELECT uri, feed FROM pins ORDER BY created_ts DESC, uri").fetchall()
    return Moderation(
        version=version,
        banned_authors=frozenset(v for k, v, _ in bans if k == "author"),
        banned_posts=frozenset(v for k, v, _ in bans if k == "post"),
        pins=tuple((u, f) for u, f in pins),
        ban_reasons={(k, v): r or "" for k, v, r in bans},
    )


def visible_sql(include_replies: bool) -> str:
    """The rule every feed query carries: no posts of inactive accounts, no replies unless wanted."""
    replies = "" if include_replies else " AND reply_parent IS NULL"
    return f"author NOT IN ({INACTIVE_AUTHORS}){replies}"


def hidden_reasons(
    conn: Connection,
    moderation: Moderation,
    uri: str,
    author: str,
    *,
    reply: bool,
    include_replies: bool,
) -> list[str]:
    """Why a stored post is in no feed, in words (empty: nothing hides it). The rules of `visible_sql`
    and `Moderation.allows`, as `gitfeed explain` shows them."""
    reasons = []
    if reply and not include_replies:
        reasons.append("it is a reply and FEEDGEN_INCLUDE_REPLIES is off")
    if conn.execute(f"SELECT 1 FROM ({INACTIVE_AUTHORS}) AS inactive WHERE did = ?", (author,)).fetchone():
        reasons.append("the author's account is inactive")
    for kind, value, banned in (
        ("author", author, moderation.banned_authors),
        ("post", uri, moderation.banned_posts),
    ):
        if value in banned:
            reason = moderation.ban_reasons.get((kind, value), "")
            reasons.append(f"the {kind} is banned" + (f" ({reason})" if reason else ""))
    return reasons


def author_of(uri: str) -> str:
    """The repo DID of an at-uri (`at://DID/collection/rkey`), or '' if it is not one."""
    if not uri.startswith("at://"):
        return ""
    return uri[5:].split("/", 1)[0]


def resolve_post(conn: Connection, value: str) -> str:
    """An at-uri of a post, from an at-uri or a bsky.app post URL (by DID or by a handle we know)."""
    value = value.strip()
    match = BSKY_POST_URL.match(value)
    if match:
        actor, rkey = match.groups()
        if not DID.match(actor):
            row = conn.execute("SELECT did FROM accounts WHERE handle = ?", (actor.lower(),)).fetchone()
            if row is None:
                raise ModerationError(f"unknown handle {actor!r}: use the post's at-uri")
            actor = row[0]
        value = f"at://{actor}/app.bsky.feed.post/{rkey}"
    if not POST_URI.match(value):
        raise ModerationError(f"{value[:200]!r} is not a post at-uri (at://DID/app.bsky.feed.post/RKEY)")
    return value


def ban(conn: Connection, kind: str, value: str, reason: str = "") -> str:
    """Ban an author (DID) or a post (at-uri or bsky.app URL), as `gitfeed ban` does; returns the value."""
    value = value.strip()
    if kind == "post":
        value = resolve_post(conn, value)
    elif kind != "author" or not DID.match(value):
        raise ModerationError(f"{value[:200]!r} is not a DID (did:plc:... or did:web:...)")
    with conn:
        conn.execute(
            "INSERT INTO bans (kind, value, reason, created_ts) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(kind, value) DO UPDATE SET reason = excluded.reason",
            (kind, value, reason[:500], time.time()),
        )
    return value


def unban(conn: Connection, kind: str, value: str) -> bool:
    with conn:
        return bool(conn.execute("DELETE FROM bans WHERE kind = ? AND value = ?", (kind, value)).rowcount)


def pin(conn: Connection, value: str, feed: str = "*") -> str:
    """Pin a post to a feed ('*' = every feed), as `gitfeed pin` does; returns the at-uri."""
    uri = resolve_post(conn, value)
    if feed != "*" and feed not in FEEDS:
        raise ModerationError(f"unknown feed {feed[:100]!r}")
    with conn:
        conn.execute(
            "INSERT INTO pins (uri, feed, created_ts) VALUES (?, ?, ?)"
            " ON CONFLICT(uri, feed) DO UPDATE SET created_ts = excluded.created_ts",
            (uri, feed, time.time()),
        )
    return uri


def unpin(conn: Connection, uri: str, feed: str | None = None) -> bool:
    """Remove a post's pin on one feed, or on every feed when `feed` is None."""
    with conn:
        if feed is None:
            return bool(conn.execute("DELETE FROM pins WHERE uri = ?", (uri,)).rowcount)
        return bool(conn.execute("DELETE FROM pins WHERE uri = ? AND feed = ?", (uri, feed)).rowcount)


def moderation_rows(conn: Connection) -> tuple[list[dict], list[dict]]:
    bans = [
        {"kind": k, "value": v, "reason": r, "created_ts": t}
        for k, v, r, t in conn.execute(
            "SELECT kind, value, reason, created_ts FROM bans ORDER BY created_ts DESC"
        )
    ]
    pins = [
        {"uri": u, "feed": f, "created_ts": t}
        for u, f, t in conn.execute("SELECT uri, feed, created_ts FROM pins ORDER BY created_ts DESC")
    ]
    return bans, pins
