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
RECONNECT_TIMEOUT_SECONDS = 5.0  # how long a call waits for the pool to reconnect before it fails
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
        self.raw: psycopg.Connection | None = self._pool.getconn(timeout=30.0)

    def _live(self) -> psycopg.Connection:
        """The connection, replaced by a fresh one from the pool when the last one broke (the server
        restarted, the network dropped): the statement that met the break failed, the next one works.
        Nothing is retried here; a caller that must not lose work (ingest's batch) retries it whole."""
        raw = self.raw
        if raw is not None and not raw.broken and not raw.closed:
            return raw
        self.raw = None
        if raw is not None:
            self._pool.putconn(raw)  # a broken connection is discarded by the pool
        self.raw = self._pool.getconn(timeout=RECONNECT_TIMEOUT_SECONDS)  # PoolTimeout: an OperationalError
        return self.raw

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> psycopg.Cursor:
        if params is None:
            return self._live().execute(sql)
        return self._live().execute(to_pg(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> psycopg.Cursor:
        cursor = self._live().cursor()
        cursor.executemany(to_pg(sql), list(rows))
        return cursor

    @property
    def in_transaction(self) -> bool:
        raw = self.raw
        if raw is None or raw.broken or raw.closed:
            return False
        return raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    @contextlib.contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """One transaction (a savepoint when nested); rolled back on any exception."""
        with self._live().transaction():
            yield self

    def __enter__(self) -> PgConnection:
        self._tx = self._live().transaction()
        self._tx.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._tx.__exit__(*exc)  # type: ignore[arg-type]

    def close(self) -> None:
        raw, self.raw = self.raw, None
        if raw is not None:
            if not raw.broken and raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
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


class PgSession(PgConnection):
    """A connection of its own, outside the pool, for session state that must live and die with it: a
    session advisory lock (the ranking server's) and LISTEN. It never reconnects by itself: once it
    broke, every call raises, and its owner opens a new one (and takes its lock and LISTEN again).
    TCP keepalives notice a server that vanished without closing the socket."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool = None
        self.raw = psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=3,
        )

    def _live(self) -> psycopg.Connection:
        raw = self.raw
        if raw is None or raw.broken or raw.closed:
            raise psycopg.OperationalError("the store connection was lost")
        return raw

    def notifies(self, timeout: float) -> list[tuple[str, str]]:
        """(channel, payload) of the notifications that arrive within `timeout` seconds (at least the
        ones already waiting); raises when the connection breaks."""
        return [(n.channel, n.payload) for n in self._live().notifies(timeout=timeout)]

    def close(self) -> None:
        raw, self.raw = self.raw, None
        if raw is not None:
            raw.close()
