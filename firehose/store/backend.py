"""Which store a target names, and the few things that differ between the two dialects.

A target is what `open_db` takes: a SQLite path (or `sqlite:///PATH`), or a `postgresql://` URL.
Everything else the code runs is portable SQL with SQLite's placeholders (PostgreSQL's connection
translates them, `firehose.store.postgres.to_pg`); what cannot be written once is here, chosen by
`dialect_of(conn)`, so the SQLite paths stay exactly what they were.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

SQLITE = "sqlite"
POSTGRES = "postgres"
PG_SCHEMES = ("postgresql://", "postgres://")
SQLITE_SCHEME = "sqlite:///"
# Advisory lock namespaces on PostgreSQL (the first key of the two-int form), so gitfeed's locks
# never meet another application's: migrations, and each source's ingest writer.
# A connection to the store, as callers use it: a sqlite3.Connection or a
# firehose.store.postgres.PgConnection (the same execute/executemany/fetch calls, portable SQL).
Connection = Any
LOCK_MIGRATIONS = 0x67660001
LOCK_INGEST = 0x67660002
LOCK_RANKER = 0x67660003  # the one serving process that ranks and publishes snapshots (feedserver.cluster)
LOCK_FEEDBACK = 0x67660004  # viewer feedback writes, in id order (`commit_in_id_order`)


def is_postgres(target: object) -> bool:
    """True for a `postgresql://` (or `postgres://`) URL."""
    return isinstance(target, str) and target.startswith(PG_SCHEMES)


def sqlite_path(target: Path | str) -> Path:
    """The file a SQLite target names: a plain path, `sqlite:///relative.db` or `sqlite:////abs/path.db`."""
    text = str(target)
    return Path(text[len(SQLITE_SCHEME) :] if text.startswith(SQLITE_SCHEME) else text)


def dialect_of(conn: Any) -> str:
    """`postgres` for a PgConnection/PgDatabase, `sqlite` for a sqlite3 connection or sqlite_utils db."""
    return getattr(conn, "dialect", SQLITE)


def describe(target: Path | str) -> str:
    """The target for logs and messages, without a password."""
    text = str(target)
    if is_postgres(text) and "@" in text:
        scheme, rest = text.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        return f"{scheme}://{credentials.split(':', 1)[0]}@{host}"
    return text


def errors() -> tuple[type[Exception], ...]:
    """The database errors of both drivers (what a caller catches to report, not crash)."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg.Error)


def is_disk_full(error: BaseException) -> bool:
    """The store ran out of space (SQLITE_FULL, or PostgreSQL's disk_full 53100)."""
    if isinstance(error, sqlite3.OperationalError):
        return "full" in str(error)
    return getattr(error, "sqlstate", None) == "53100"


def connection_lost(error: BaseException) -> bool:
    """The store could not be reached, or dropped the connection (PostgreSQL restarting, the network):
    worth retrying the same work once it is back. A disk-full error is `is_disk_full`'s, not this."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    if not isinstance(error, psycopg.OperationalError):  # psycopg_pool's PoolTimeout is one too
        return False
    state = getattr(error, "sqlstate", None)
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def data_version(conn: Any) -> object:
    """A value that changes when another connection committed new data (compare with `!=`).

    SQLite: `PRAGMA data_version` (free, moves on every commit by another connection). PostgreSQL has
    no such counter (its WAL position also moves on reads that prune pages, on autovacuum and
    checkpoints), so: the newest ingest batch's commit time and the newest post id, two index reads.
    What neither sees (a like written outside ingest, a prune) waits for the periodic full rebuild.
    """
    if dialect_of(conn) == POSTGRES:
        return tuple(
            conn.execute(
                "SELECT (SELECT coalesce(max(updated_ts), 0) FROM sub_state),"
                " (SELECT coalesce(max(id), 0) FROM posts)"
            ).fetchone()
        )
    return conn.execute("PRAGMA data_version").fetchone()[0]


def hour_bucket(conn: Any, column: str) -> str:
    """SQL for the whole hour (since the epoch) of a timestamp column."""
    if dialect_of(conn) == POSTGRES:
        return f"floor({column} / 3600)::bigint"
    return f"CAST({column} / 3600 AS INTEGER)"


def insertion_order(conn: Any, key: str) -> str:
    """A column that orders rows by insertion where the table has one: SQLite's `rowid`; PostgreSQL
    has none, so `key` (the primary key) breaks the tie instead."""
    return key if dialect_of(conn) == POSTGRES else "rowid"


def no_limit(conn: Any) -> str:
    """What goes after LIMIT for "no limit" (before an OFFSET): -1 on SQLite, ALL on PostgreSQL."""
    return "ALL" if dialect_of(conn) == POSTGRES else "-1"


def hour_label(conn: Any, column: str) -> str:
    """SQL for a timestamp column's hour as text, `2026-07-04T13:00Z` (UTC)."""
    if dialect_of(conn) == POSTGRES:
        return f"""to_char(to_timestamp({column}) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:00"Z"')"""
    return f"strftime('%Y-%m-%dT%H:00Z', {column}, 'unixepoch')"


@contextlib.contextmanager
def write_transaction(conn: Any) -> Iterator[Any]:
    """A transaction that writes: SQLite takes the write lock up front (BEGIN IMMEDIATE)."""
    if dialect_of(conn) == POSTGRES:
        with conn.transaction():
            yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite has rolled back already on some errors (a full disk at COMMIT)
            conn.execute("ROLLBACK")
        raise


def commit_in_id_order(conn: Any, lock: int) -> None:
    """Inside a write transaction: writers of this table commit one at a time, so their identity ids
    become visible in order, and a reader that loads `id > newest seen` (viewer feedback on every
    server) never passes over a row committed late. SQLite has one writer already."""
    if dialect_of(conn) == POSTGRES:
        conn.execute("SELECT pg_advisory_xact_lock(?::int, 0)", (lock,))


@contextlib.contextmanager
def read_transaction(conn: Any) -> Iterator[Any]:
    """Several reads that see one state of the store."""
    if dialect_of(conn) == POSTGRES:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def store_bytes(conn: Any, target: Path | str) -> int:
    """The store's size on disk: the SQLite file and its WAL, or the PostgreSQL database."""
    if dialect_of(conn) == POSTGRES:
        return int(conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
    path = sqlite_path(target)
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
