"""Seed a real gitfeed database with posts, likes, accounts, bans and pins for server tests.

Rows go in through plain SQL on the real schema (open_db applies the migrations), the way the ingest
writer leaves them, so tests need neither the classifier nor a firehose.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import sqlite_utils

from firehose.store.schema import open_db

POST_COLUMNS = (
    "uri, cid, author, rkey, text, created_at, created_ts, indexed_ts, reply_root, reply_parent,"
    " github_urls, repos, score_github, score_ml, like_count, repost_count"
)


@dataclass
class Post:
    """One stored post; `uri` derives from author and rkey."""

    author: str
    rkey: str
    text: str = "a post"
    age_seconds: float = 60.0
    score_github: float = 0.9
    score_ml: float = 0.0
    likes: int = 0
    reposts: int = 0
    github_urls: list[str] = field(default_factory=list)
    reply_parent: str | None = None

    @property
    def uri(self) -> str:
        return f"at://{self.author}/app.bsky.feed.post/{self.rkey}"

    def row(self, now: float) -> tuple:
        created = now - self.age_seconds
        repos = [u.split("github.com/")[-1].lower() for u in self.github_urls]
        return (
            self.uri,
            "bafyreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
            self.author,
            self.rkey,
            self.text,
            time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(created)),
            created,
            min(created, now),
            self.reply_parent,
            self.reply_parent,
            orjson.dumps(self.github_urls).decode(),
            orjson.dumps(repos).decode(),
            self.score_github,
            self.score_ml,
            self.likes,
            self.reposts,
        )


def make_db(path: Path | str) -> sqlite_utils.Database:
    """The store at `path`: a SQLite file or a postgresql:// URL."""
    return open_db(path, create=True)


def insert_posts(db: sqlite_utils.Database, posts: Iterable[Post], now: float | None = None) -> None:
    now = time.time() if now is None else now
    marks = ",".join("?" * len(POST_COLUMNS.split(",")))
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO posts ({POST_COLUMNS}) VALUES ({marks})", [p.row(now) for p in posts]
        )


def add_likes(db: sqlite_utils.Database, uri: str, count: int = 1) -> None:
    with db.conn:
        db.conn.execute("UPDATE posts SET like_count = like_count + ? WHERE uri = ?", (count, uri))


def set_account(db: sqlite_utils.Database, did: str, *, active: bool, status: str | None = None) -> None:
    with db.conn:
        db.conn.execute(
            "INSERT INTO accounts (did, handle, active, status, updated_ts) VALUES (?, NULL, ?, ?, ?)"
            " ON CONFLICT(did) DO UPDATE SET handle = NULL, active = excluded.active,"
            " status = excluded.status, updated_ts = excluded.updated_ts",
            (did, int(active), status, time.time()),
        )


def ban(db: sqlite_utils.Database, kind: str, value: str) -> None:
    with db.conn:
        db.conn.execute(
            "INSERT INTO bans (kind, value, reason, created_ts) VALUES (?, ?, '', ?)",
            (kind, value, time.time()),
        )


def pin(db: sqlite_utils.Database, uri: str, feed: str = "*") -> None:
    with db.conn:
        db.conn.execute("INSERT INTO pins (uri, feed, created_ts) VALUES (?, ?, ?)", (uri, feed, time.time()))


def many_posts(
    count: int, *, authors: int = 50, prefix: str = "p", spread_seconds: float = 86400.0
) -> list[Post]:
    """`count` GitHub posts over `authors` accounts, ages spread evenly, likes varied."""
    return [
        Post(
            author=f"did:plc:author{i % authors:04d}",
            rkey=f"3k{prefix}{i:07d}",
            text=f"post {i} github.com/o/r{i}",
            age_seconds=10 + spread_seconds * i / max(count, 1),
            score_github=0.5 + 0.5 * ((i * 7919) % 100) / 100,
            score_ml=0.6 if i % 3 == 0 else 0.0,
            likes=(i * 31) % 17,
            reposts=(i * 13) % 5,
            github_urls=[f"https://github.com/o/r{i}"] if i % 2 == 0 else [],
        )
        for i in range(count)
    ]


PUBLISHER = "did:plc:publisher"
HOSTNAME = "feed.example.com"


def feed_at(name: str) -> str:
    return f"at://{PUBLISHER}/app.bsky.feed.generator/{name}"


def server_settings(db_path: Path | str, **overrides: object):  # noqa: ANN201 - firehose.settings.Settings
    """Settings for a test server on `db_path`, a SQLite file or a postgresql:// URL (no .env, no
    environment surprises)."""
    from firehose.settings import Settings

    url = str(db_path) if str(db_path).startswith("postgresql://") else ""
    values = {
        "sqlite_location": "gitfeed.db" if url else db_path,
        "database_url": url,
        "hostname": HOSTNAME,
        "publisher_did": PUBLISHER,
        "auth_mode": "off",
        "plc_url": "http://127.0.0.1:9",
        "snapshot_refresh_seconds": 0.0,
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)
