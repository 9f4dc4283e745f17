"""The two store backends for tests: a SQLite file, or a fresh database in a private PostgreSQL cluster.

The cluster is tests/e2e/postgres.py's (Debian's binaries, loopback, trust auth, fsync off), started
once per test session; each test that asks for PostgreSQL gets a database of its own, dropped after.
"""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.e2e.postgres import Postgres, PostgresError, find_pg_bin

_names = itertools.count(1)


def postgres_missing() -> str | None:
    """Why PostgreSQL tests cannot run here (None when they can)."""
    try:
        find_pg_bin()
    except PostgresError as error:
        return f"PostgreSQL binaries are absent ({error})"
    return None


class Cluster:
    """One private cluster; `database()` makes a fresh, empty database and returns its URL."""

    def __init__(self) -> None:
        self.pg = Postgres().start()

    def base_url(self) -> str:
        return self.pg.url.rsplit("/", 1)[0]

    def database(self) -> str:
        name = f"gitfeed_test_{next(_names)}"
        self.pg.psql(f"CREATE DATABASE {name}")
        return f"{self.base_url()}/{name}"

    def drop(self, url: str) -> None:
        from firehose.store.postgres import close_pool

        close_pool(url)
        self.pg.psql(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")

    def stop(self) -> None:
        from firehose.store.postgres import close_pools

        close_pools()
        self.pg.stop()


@contextlib.contextmanager
def connect(target: str | Path) -> Iterator[Any]:
    """A plain connection to the store `target` names (no migrations), closed after; on PostgreSQL a
    pooled one. Statements autocommit on both."""
    from firehose.store.backend import is_postgres

    if is_postgres(str(target)):
        from firehose.store.postgres import PgConnection

        conn = PgConnection(str(target))
        try:
            yield conn
        finally:
            conn.close()
    else:
        conn = sqlite3.connect(target, timeout=5, isolation_level=None)
        try:
            yield conn
        finally:
            conn.close()


def query(db: Any, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    """Rows as dicts, on either backend (`db` is what open_db returned, or its `.conn`)."""
    conn = getattr(db, "conn", db)
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def scalar(db: Any, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
    conn = getattr(db, "conn", db)
    return conn.execute(sql, params).fetchone()[0]
