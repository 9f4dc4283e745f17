"""The schema, as named migrations in both dialects, and the one way to open the store.

This is the only module that defines tables. Each migration runs in its own transaction
(sqlite_utils.Migrations on SQLite, `firehose.store.postgres.apply_migrations` on PostgreSQL), so a
fresh store and an old one converge on the same schema. Every migration exists in both dialects under
the same name (`PG_MIGRATIONS`; tests/test_store_backends.py checks names, tables and columns match).
PostgreSQL types: REAL -> DOUBLE PRECISION, INTEGER -> BIGINT, INTEGER PRIMARY KEY -> an identity.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils import Migrations

from firehose.store.backend import describe, is_postgres, sqlite_path
from firehose.store.backend import write_transaction as backend_write_transaction

migrations = Migrations("gitfeed")


@migrations()
def m001_posts(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE posts (
            id INTEGER PRIMARY KEY,
            uri TEXT NOT NULL UNIQUE,
            cid TEXT NOT NULL,
            author TEXT NOT NULL,
            rkey TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            langs TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL DEFAULT '',
            created_ts REAL NOT NULL,
            indexed_ts REAL NOT NULL,
            reply_root TEXT,
            reply_parent TEXT,
            github_urls TEXT NOT NULL DEFAULT '[]',
            repos TEXT NOT NULL DEFAULT '[]',
            card_title TEXT NOT NULL DEFAULT '',
            card_description TEXT NOT NULL DEFAULT '',
            score_github REAL NOT NULL DEFAULT 0,
            score_ml REAL NOT NULL DEFAULT 0,
            like_count INTEGER NOT NULL DEFAULT 0,
            repost_count INTEGER NOT NULL DEFAULT 0
        )
        """
    )
    db.execute("CREATE INDEX posts_author ON posts(author)")
    db.execute("CREATE INDEX posts_created_ts ON posts(created_ts)")
    db.execute("CREATE INDEX posts_indexed_ts ON posts(indexed_ts)")


@migrations()
def m002_engagements(db: sqlite_utils.Database) -> None:
    """Likes and reposts of stored posts, kept so an unlike knows which count to decrement."""
    db.execute(
        """
        CREATE TABLE engagements (
            uri TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('like', 'repost')),
            author TEXT NOT NULL,
            subject_uri TEXT NOT NULL
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE INDEX engagements_subject ON engagements(subject_uri)")


@migrations()
def m003_ingest_state(db: sqlite_utils.Database) -> None:
    """Source cursors (one row per source endpoint) and running counters."""
    db.execute(
        "CREATE TABLE sub_state (service TEXT PRIMARY KEY, cursor INTEGER NOT NULL, updated_ts REAL NOT NULL)"
    )
    db.execute("CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0)")


@migrations()
def m004_accounts(db: sqlite_utils.Database) -> None:
    """Account status (from #account) and handles (from #identity)."""
    db.execute(
        """
        CREATE TABLE accounts (
            did TEXT PRIMARY KEY,
            handle TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            status TEXT,
            updated_ts REAL NOT NULL
        )
        """
    )


@migrations()
def m005_moderation(db: sqlite_utils.Database) -> None:
    """Operator bans and pins; read on every feed request, so changes apply without restart."""
    db.execute(
        """
        CREATE TABLE bans (
            kind TEXT NOT NULL CHECK (kind IN ('author', 'post')),
            value TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            created_ts REAL NOT NULL,
            PRIMARY KEY (kind, value)
        )
        """
    )
    db.execute(
        """
        CREATE TABLE pins (
            uri TEXT NOT NULL,
            feed TEXT NOT NULL DEFAULT '*',
            created_ts REAL NOT NULL,
            PRIMARY KEY (uri, feed)
        )
        """
    )


@migrations()
def m006_interactions(db: sqlite_utils.Database) -> None:
    """Viewer feedback from app.bsky.feed.sendInteractions (requestLess / requestMore, ...)."""
    db.execute(
        """
        CREATE TABLE interactions (
            id INTEGER PRIMARY KEY,
            viewer TEXT NOT NULL,
            item TEXT NOT NULL,
            author TEXT,
            event TEXT NOT NULL,
            feed_context TEXT,
            created_ts REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX interactions_viewer ON interactions(viewer, event)")


@migrations()
def m007_server_state(db: sqlite_utils.Database) -> None:
    """Server key/values (the persisted cursor secret) and a moderation version bumped by triggers.

    Every process serving feeds checks `moderation_version` (one primary-key read per request), so a
    ban or pin written by any process or the CLI applies on the next request without a restart.
    """
    db.execute("CREATE TABLE server_state (name TEXT PRIMARY KEY, value)")
    db.execute("INSERT INTO server_state (name, value) VALUES ('moderation_version', 0)")
    for table in ("bans", "pins"):
        for action in ("INSERT", "UPDATE", "DELETE"):
            db.execute(
                f"""
                CREATE TRIGGER {table}_{action.lower()}_version AFTER {action} ON {table}
                BEGIN
                    UPDATE server_state SET value = value + 1 WHERE name = 'moderation_version';
                END
                """
            )


@migrations()
def m008_admin_sessions(db: sqlite_utils.Database) -> None:
    """Operator login sessions (feedserver.web.admin): the digest of the cookie's random id, expiry."""
    db.execute(
        """
        CREATE TABLE admin_sessions (
            id TEXT PRIMARY KEY,
            token_tag TEXT NOT NULL,
            created_ts REAL NOT NULL,
            expires_ts REAL NOT NULL
        ) WITHOUT ROWID
        """
    )


@migrations()
def m009_labels(db: sqlite_utils.Database) -> None:
    """The operator's labels and the queue of posts waiting for one (`firehose.store.labels`).

    Both keep the post's record as the classifier reads it (`firehose.detect.classifier_record`), so a
    labeled post can be re-scored and trained on after the post itself is pruned. The queue is bounded:
    at most FEEDGEN_LABEL_QUEUE_MAX rows per reason, the oldest dropped.
    """
    db.execute(
        """
        CREATE TABLE labels (
            uri TEXT PRIMARY KEY,
            record TEXT NOT NULL,
            labels TEXT NOT NULL DEFAULT '[]',
            labeled_at REAL NOT NULL,
            labeler TEXT NOT NULL DEFAULT 'operator'
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE label_queue (
            uri TEXT PRIMARY KEY,
            record TEXT NOT NULL,
            reason TEXT NOT NULL CHECK (reason IN ('uncertain', 'recent_admission', 'show_less')),
            score_github REAL NOT NULL DEFAULT 0,
            score_ml REAL NOT NULL DEFAULT 0,
            requests INTEGER NOT NULL DEFAULT 1,
            queued_at REAL NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX label_queue_reason ON label_queue(reason, queued_at)")


def _create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 when it does not exist yet (an existing file is left as it is)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    except OSError as error:
        raise DatabaseError(f"cannot create database {path}: {error.strerror or error}") from error


@migrations()
def m010_writer_epoch(db: sqlite_utils.Database) -> None:
    """The writer's epoch on each cursor row: bumped by each ingest that takes a source over, checked
    at commit, so a stale writer is fenced (PostgreSQL; on SQLite it stays 0: one file, one writer)."""
    db.execute("ALTER TABLE sub_state ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0")


@migrations()
def m011_snapshots(db: sqlite_utils.Database) -> None:
    """Ranked snapshots published by the ranking server for every server (PostgreSQL, several
    servers: `feedserver.cluster`); `body` is `Snapshot.to_bytes()`. On SQLite (one server) it stays
    empty."""
    db.execute(
        """
        CREATE TABLE snapshots (
            snapshot_id TEXT PRIMARY KEY,
            feed TEXT NOT NULL,
            built_ts REAL NOT NULL,
            max_id INTEGER NOT NULL,
            published_ts REAL NOT NULL,
            body BLOB NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX snapshots_feed ON snapshots(feed, published_ts)")


_PG_BUMP_MODERATION = """
CREATE FUNCTION gitfeed_bump_moderation_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE server_state SET value = (value::bigint + 1)::text WHERE name = 'moderation_version';
    RETURN NULL;
END
$$
"""

# The same migrations for PostgreSQL, by name, in order.
PG_MIGRATIONS: list[tuple[str, list[str]]] = [
    (
        "m001_posts",
        [
            """
            CREATE TABLE posts (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                uri TEXT NOT NULL UNIQUE,
                cid TEXT NOT NULL,
                author TEXT NOT NULL,
                rkey TEXT NOT NULL,
                text TEXT NOT NULL DEFAULT '',
                langs TEXT NOT NULL DEFAULT '[]',
                created_at TEXT NOT NULL DEFAULT '',
                created_ts DOUBLE PRECISION NOT NULL,
                indexed_ts DOUBLE PRECISION NOT NULL,
                reply_root TEXT,
                reply_parent TEXT,
                github_urls TEXT NOT NULL DEFAULT '[]',
                repos TEXT NOT NULL DEFAULT '[]',
                card_title TEXT NOT NULL DEFAULT '',
                card_description TEXT NOT NULL DEFAULT '',
                score_github DOUBLE PRECISION NOT NULL DEFAULT 0,
                score_ml DOUBLE PRECISION NOT NULL DEFAULT 0,
                like_count BIGINT NOT NULL DEFAULT 0,
                repost_count BIGINT NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX posts_author ON posts(author)",
            "CREATE INDEX posts_created_ts ON posts(created_ts)",
            "CREATE INDEX posts_indexed_ts ON posts(indexed_ts)",
        ],
    ),
    (
        "m002_engagements",
        [
            """
            CREATE TABLE engagements (
                uri TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('like', 'repost')),
                author TEXT NOT NULL,
                subject_uri TEXT NOT NULL
            )
            """,
            "CREATE INDEX engagements_subject ON engagements(subject_uri)",
        ],
    ),
    (
        "m003_ingest_state",
        [
            # cursor NULL: a source an ingest has claimed (its epoch) but not yet committed a batch of.
            "CREATE TABLE sub_state"
            " (service TEXT PRIMARY KEY, cursor BIGINT, updated_ts DOUBLE PRECISION NOT NULL)",
            "CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL DEFAULT 0)",
        ],
    ),
    (
        "m004_accounts",
        [
            """
            CREATE TABLE accounts (
                did TEXT PRIMARY KEY,
                handle TEXT,
                active INTEGER NOT NULL DEFAULT 1,
                status TEXT,
                updated_ts DOUBLE PRECISION NOT NULL
            )
            """
        ],
    ),
    (
        "m005_moderation",
        [
            """
            CREATE TABLE bans (
                kind TEXT NOT NULL CHECK (kind IN ('author', 'post')),
                value TEXT NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                created_ts DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (kind, value)
            )
            """,
            """
            CREATE TABLE pins (
                uri TEXT NOT NULL,
                feed TEXT NOT NULL DEFAULT '*',
                created_ts DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (uri, feed)
            )
            """,
        ],
    ),
    (
        "m006_interactions",
        [
            """
            CREATE TABLE interactions (
                id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                viewer TEXT NOT NULL,
                item TEXT NOT NULL,
                author TEXT,
                event TEXT NOT NULL,
                feed_context TEXT,
                created_ts DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX interactions_viewer ON interactions(viewer, event)",
        ],
    ),
    (
        "m007_server_state",
        [
            "CREATE TABLE server_state (name TEXT PRIMARY KEY, value TEXT)",
            "INSERT INTO server_state (name, value) VALUES ('moderation_version', '0')",
            _PG_BUMP_MODERATION,
            *(
                f"CREATE TRIGGER {table}_version AFTER INSERT OR UPDATE OR DELETE ON {table}"
                " FOR EACH ROW EXECUTE FUNCTION gitfeed_bump_moderation_version()"
                for table in ("bans", "pins")
            ),
        ],
    ),
    (
        "m008_admin_sessions",
        [
            """
            CREATE TABLE admin_sessions (
                id TEXT PRIMARY KEY,
                token_tag TEXT NOT NULL,
                created_ts DOUBLE PRECISION NOT NULL,
                expires_ts DOUBLE PRECISION NOT NULL
            )
            """
        ],
    ),
    (
        "m009_labels",
        [
            """
            CREATE TABLE labels (
                uri TEXT PRIMARY KEY,
                record TEXT NOT NULL,
                labels TEXT NOT NULL DEFAULT '[]',
                labeled_at DOUBLE PRECISION NOT NULL,
                labeler TEXT NOT NULL DEFAULT 'operator'
            )
            """,
            """
            CREATE TABLE label_queue (
                uri TEXT PRIMARY KEY,
                record TEXT NOT NULL,
                reason TEXT NOT NULL CHECK (reason IN ('uncertain', 'recent_admission', 'show_less')),
                score_github DOUBLE PRECISION NOT NULL DEFAULT 0,
                score_ml DOUBLE PRECISION NOT NULL DEFAULT 0,
                requests BIGINT NOT NULL DEFAULT 1,
                queued_at DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX label_queue_reason ON label_queue(reason, queued_at)",
        ],
    ),
    ("m010_writer_epoch", ["ALTER TABLE sub_state ADD COLUMN epoch BIGINT NOT NULL DEFAULT 0"]),
    (
        "m011_snapshots",
        [
            """
            CREATE TABLE snapshots (
                snapshot_id TEXT PRIMARY KEY,
                feed TEXT NOT NULL,
                built_ts DOUBLE PRECISION NOT NULL,
                max_id BIGINT NOT NULL,
                published_ts DOUBLE PRECISION NOT NULL,
                body BYTEA NOT NULL
            )
            """,
            "CREATE INDEX snapshots_feed ON snapshots(feed, published_ts)",
        ],
    ),
]


class DatabaseError(Exception):
    """The database file is missing, unreadable or not a gitfeed database."""


@contextlib.contextmanager
def write_transaction(db: Any) -> Iterator[Any]:
    """A transaction that takes the write lock when it begins (BEGIN IMMEDIATE), waiting busy_timeout.

    A plain BEGIN reads first and asks for the write lock at its first write; if another process (the
    server storing viewer feedback or a label) committed meanwhile, SQLite refuses that upgrade at once
    with "database is locked", whatever the busy timeout. Ingest's batches read before they write, so they
    begin immediate. Nested use becomes a savepoint of the outer transaction, as sqlite-utils' atomic().
    On PostgreSQL (row locks, no database-wide write lock) it is a plain transaction. The SQLite case is
    `backend.write_transaction` on the database's connection.
    """
    if is_postgres(getattr(db, "url", None)) or db.conn.in_transaction:
        with db.atomic():
            yield db
        return
    with backend_write_transaction(db.conn):
        yield db


def open_db(target: Path | str, *, create: bool = True, migrate: bool = True) -> Any:
    """Open the store `target` names, applying pending migrations: a SQLite path (or `sqlite:///PATH`)
    with WAL and a busy timeout, or a `postgresql://` URL (a pooled connection, `PgDatabase`).

    `create=False` refuses a missing SQLite file (admin commands must not invent an empty database). A
    new file is created readable by its owner only (0600), whatever the umask: it holds the cursor secret
    and the admin sessions, and SQLite gives its -wal and -shm files the database file's mode.
    """
    if is_postgres(target):
        return _open_postgres(str(target), migrate=migrate)
    import sqlite3

    in_memory = str(target) == ":memory:"
    path = sqlite_path(target)
    if not create and not path.exists():
        raise DatabaseError(f"no database at {path} (run `gitfeed ingest` first, or pass --db)")
    try:
        if not in_memory:
            _create_private(path)
        conn = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        db = sqlite_utils.Database(conn)
        if migrate:
            migrations.apply(db)
    except sqlite3.DatabaseError as error:
        raise DatabaseError(f"cannot open database {path}: {error}") from error
    return db


def _open_postgres(url: str, *, migrate: bool) -> Any:
    import psycopg
    from psycopg_pool import PoolTimeout

    from firehose.store.postgres import PgDatabase, apply_migrations

    try:
        db = PgDatabase(url)
    except (psycopg.Error, PoolTimeout) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatabaseError(f"cannot open database {describe(url)}: {reason}") from error
    try:
        if migrate:
            apply_migrations(db, PG_MIGRATIONS)
    except psycopg.Error as error:
        db.close()
        raise DatabaseError(f"cannot migrate database {describe(url)}: {error}") from error
    return db
