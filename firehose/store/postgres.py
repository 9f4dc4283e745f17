"""PostgreSQL behind the same small connection interface the code uses on SQLite.

The rest of the code writes portable SQL with SQLite's placeholders (`?` and `:name`) and calls
`conn.execute(sql, params).fetchone()`, `executemany`, `with conn:` (a transaction) and `close()`;
`PgConnection` offers exactly that over a psycopg 3 connection taken from a per-process pool
(psycopg-pool), translating the placeholders once per statement text. `PgDatabase` is what
`open_db` returns for a `postgresql://` URL, shaped like the `sqlite_utils.Database` the writer uses
(`.conn`, `.execute`, `.atomic()`, `.close()`).

What differs by dialect beyond placeholders lives in `firehose.store.backend`; the tables of both
dialects live in `firehose.store.schema`.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from firehose.store.backend import LOCK_MIGRATIONS

CONNECT_TIMEOUT_SECONDS = 10
POOL_MAX = 32  # connections one process may hold (the feed service holds 4, the web page one per thread)

_TOKEN = re.compile(r"'(?:[^']|'')*'|::|\?|:([A-Za-z_][A-Za-z0-9_]*)|%")


@functools.lru_cache(maxsize=1024)
def to_pg(sql: str) -> str:
    """SQLite placeholders -> psycopg's: `?` -> `%s`, `:name` -> `%(name)s`, `%` -> `%%`.

    String literals and `::` casts are left alone (a `%` inside a literal is doubled: psycopg reads
    the whole text when parameters are given).
    """

    def swap(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("'"):
            return token.replace("%", "%%")
        if token == "::":
            return token
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _TOKEN.sub(swap, sql)


_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


def _reset(conn: psycopg.Connection) -> None:
    """A connection going back to the pool gives up its session advisory locks (an ingest's claim)."""
    conn.execute("SELECT pg_advisory_unlock_all()")


def pool(url: str) -> ConnectionPool:
    """This process's pool for `url` (opened on first use, closed at exit by psycopg-pool)."""
    with _pools_lock:
        found = _pools.get(url)
        if found is None or found.closed:
            # One plain connection first: a wrong URL or a server that is down fails at once, with
            # libpq's own reason, instead of a pool retrying in the background until its timeout.
            psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS).close()
            found = ConnectionPool(
                url,
                min_size=1,
                max_size=POOL_MAX,
                kwargs={"autocommit": True},
                reset=_reset,
                check=ConnectionPool.check_connection,
                open=False,
                name="gitfeed",
            )
            found.open(wait=True, timeout=10.0)
            _pools[url] = found
        return found


def close_pool(url: str) -> None:
    """Close this process's pool for `url` (its connections end), if there is one."""
    with _pools_lock:
        found = _pools.pop(url, None)
    if found is not None:
        found.close()


def close_pools() -> None:
    """Close every pool of this process (tests dropping their databases, forked children)."""
    with _pools_lock:
        for found in _pools.values():
            found.close()
        _pools.clear()


class PgConnection:
    """A pooled psycopg connection with the sqlite3-shaped calls the code makes (see module doc)."""

    dialect = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool = pool(url)
        self.raw: psycopg.Connection = self._pool.getconn(timeout=30.0)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> psycopg.Cursor:
        if params is None:
            return self.raw.execute(sql)
        return self.raw.execute(to_pg(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(to_pg(sql), list(rows))
        return cursor

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """One transaction (a savepoint when nested); rolled back on any exception."""
        with self.raw.transaction():
            yield self

    def __enter__(self) -> PgConnection:
        self._tx = self.raw.transaction()
        self._tx.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._tx.__exit__(*exc)  # type: ignore[arg-type]

    def close(self) -> None:
        raw, self.raw = self.raw, None  # type: ignore[assignment]
        if raw is not None:
            if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    raw.rollback()
            self._pool.putconn(raw)


class PgDatabase:
    """The store on PostgreSQL, shaped like the `sqlite_utils.Database` callers use."""

    dialect = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = PgConnection(url)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> psycopg.Cursor:
        return self.conn.execute(sql, params)

    def atomic(self) -> contextlib.AbstractContextManager[PgConnection]:
        return self.conn.transaction()

    def close(self) -> None:
        self.conn.close()


def apply_migrations(db: PgDatabase, migrations: Sequence[tuple[str, Sequence[str]]]) -> list[str]:
    """Apply pending migrations, each in its own transaction under an advisory lock, so processes
    starting together apply each once. Returns the names applied now."""
    conn = db.conn
    conn.execute(
        "CREATE TABLE IF NOT EXISTS _gitfeed_migrations "
        "(name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM _gitfeed_migrations")}
    applied = []
    for name, statements in migrations:
        if name in done:
            continue
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(?::int, 0)", (LOCK_MIGRATIONS,))
            if conn.execute("SELECT 1 FROM _gitfeed_migrations WHERE name = ?", (name,)).fetchone():
                continue
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO _gitfeed_migrations (name) VALUES (?)", (name,))
        applied.append(name)
    return applied
