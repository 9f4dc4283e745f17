"""Bans and pins: the one implementation behind `gitfeed ban/pin` and the operator page.

Writes go to the `bans`/`pins` tables; the schema's triggers bump the moderation version, so every
serving process applies them on its next request, without a restart.
"""

from __future__ import annotations

import re
import sqlite3
import time

from feedserver.feeds import FEEDS

POST_URI = re.compile(r"^at://did:[a-z]+:[A-Za-z0-9._:%-]+/app\.bsky\.feed\.post/[A-Za-z0-9._:~-]+$")
DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]+$")
BSKY_POST_URL = re.compile(r"^https://bsky\.app/profile/([^/\s]+)/post/([A-Za-z0-9._:~-]+)/?$")


class ModerationError(ValueError):
    """Input that names no post, author, feed, ban or pin; the message is shown to the operator."""


def resolve_post(conn: sqlite3.Connection, value: str) -> str:
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


def ban(conn: sqlite3.Connection, kind: str, value: str, reason: str = "") -> str:
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


def unban(conn: sqlite3.Connection, kind: str, value: str) -> bool:
    with conn:
        return bool(conn.execute("DELETE FROM bans WHERE kind = ? AND value = ?", (kind, value)).rowcount)


def pin(conn: sqlite3.Connection, value: str, feed: str = "*") -> str:
    """Pin a post to a feed ('*' = every feed), as `gitfeed pin` does; returns the at-uri."""
    uri = resolve_post(conn, value)
    if feed != "*" and feed not in FEEDS:
        raise ModerationError(f"unknown feed {feed[:100]!r}")
    with conn:
        conn.execute(
            "INSERT OR REPLACE INTO pins (uri, feed, created_ts) VALUES (?, ?, ?)", (uri, feed, time.time())
        )
    return uri


def unpin(conn: sqlite3.Connection, uri: str, feed: str | None = None) -> bool:
    """Remove a post's pin on one feed, or on every feed when `feed` is None."""
    with conn:
        if feed is None:
            return bool(conn.execute("DELETE FROM pins WHERE uri = ?", (uri,)).rowcount)
        return bool(conn.execute("DELETE FROM pins WHERE uri = ? AND feed = ?", (uri, feed)).rowcount)


def moderation_rows(conn: sqlite3.Connection) -> tuple[list[dict], list[dict]]:
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
