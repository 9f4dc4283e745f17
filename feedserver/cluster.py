"""Several feed servers on one PostgreSQL store: one ranks and publishes, every one serves from memory.

- **Who ranks**: the holder of a PostgreSQL session advisory lock (`LOCK_RANKER`), taken on a
  connection of its own (`PgSession`), so the lock frees the moment that connection or its process
  dies, and another server takes it on its next tick (`TICK_SECONDS`) and ranks at once.
- **Publishing** (`publish`): the ranking server writes each snapshot's compact form
  (`Snapshot.to_bytes`) to the `snapshots` table and `NOTIFY`s `CHANNEL` in the same transaction, so a
  notification always finds its row; snapshots older than the TTL are pruned then (each feed keeps its
  newest).
- **Following** (`ClusterLink`): every server's link thread `LISTEN`s on its own connection, loads each
  new snapshot once (`Snapshot.from_bytes`, interned into the server's `ItemTable`, so a follower keeps
  each post's item once like the ranking server) and hands it to the service, which serves from memory
  only. A row in another format (published by an older or newer gitfeed during an upgrade) is passed
  over with a warning, never misread. The same thread reads the store's small state every tick
  (moderation version, newest feedback id, cursor keys: `StoreState`), so bans, pins and feedback
  written anywhere reach every server without a query per request. When the connection breaks
  (PostgreSQL restarting) the thread reconnects with backoff, takes LISTEN again and catches up with the
  newest snapshot of each feed (`newest`); meanwhile the servers answer from memory.
- **A cursor from another server** names a published snapshot: in memory, or loaded by id (`load`).

On SQLite (one machine) nothing here runs: each server ranks for itself, as before.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

from feedserver.moderation import Moderation, load_moderation
from feedserver.ranking import ItemTable, Snapshot
from firehose.store import backend
from firehose.store.backend import LOCK_RANKER, Connection

log = logging.getLogger(__name__)

CHANNEL = "gitfeed_snapshots"
TICK_SECONDS = 0.25  # how often the link polls the store's state and tries for the ranking lock
RECONNECT_FIRST_SECONDS = 0.25
RECONNECT_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class StoreState:
    """What every server follows, read in one query: versions that move when an operator or a viewer
    writes (`gitfeed ban/pin`, sendInteractions on any server, a cursor key rotation)."""

    moderation_version: int
    newest_interaction: int
    cursor_keys: str


def store_state(conn: Connection) -> StoreState:
    row = conn.execute(
        "SELECT (SELECT value FROM server_state WHERE name = 'moderation_version'),"
        " (SELECT coalesce(max(id), 0) FROM interactions),"
        " (SELECT value FROM server_state WHERE name = 'cursor_keys')"
    ).fetchone()
    return StoreState(int(row[0] or 0), int(row[1] or 0), str(row[2] or ""))


def publish(conn: Connection, snapshot: Snapshot, now: float, ttl_seconds: float) -> None:
    """Store `snapshot` for every server and notify them; prune this feed's snapshots past the TTL."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO snapshots (snapshot_id, feed, built_ts, max_id, published_ts, body)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(snapshot_id) DO NOTHING",
            (
                snapshot.snapshot_id,
                snapshot.feed,
                snapshot.built_ts,
                snapshot.max_id,
                now,
                snapshot.to_bytes(),
            ),
        )
        conn.execute(
            "DELETE FROM snapshots WHERE feed = ? AND published_ts < ? AND snapshot_id <> ?",
            (snapshot.feed, now - ttl_seconds, snapshot.snapshot_id),
        )
        conn.execute("SELECT pg_notify(?, ?)", (CHANNEL, snapshot.snapshot_id))


def load(conn: Connection, snapshot_id: str, *, table: ItemTable | None = None) -> Snapshot | None:
    """A published snapshot by id (a cursor made on another server), its items interned in `table` (the
    server's); None when pruned, never published, or unreadable (`_read`)."""
    row = conn.execute("SELECT body FROM snapshots WHERE snapshot_id = ?", (snapshot_id,)).fetchone()
    return None if row is None else _read(snapshot_id, bytes(row[0]), table)


def newest(conn: Connection, feed: str | None = None, *, table: ItemTable | None = None) -> list[Snapshot]:
    """The newest published snapshot of each feed (or of `feed`) that this server can read."""
    rows = conn.execute(
        "SELECT s.snapshot_id, s.body FROM snapshots s JOIN (SELECT feed, max(published_ts) AS ts"
        " FROM snapshots GROUP BY feed) n ON n.feed = s.feed AND n.ts = s.published_ts"
        + (" WHERE s.feed = ?" if feed else ""),
        (feed,) if feed else (),
    ).fetchall()
    found = (_read(str(snapshot_id), bytes(body), table) for snapshot_id, body in rows)
    return [snapshot for snapshot in found if snapshot is not None]


def _read(snapshot_id: str, body: bytes, table: ItemTable | None) -> Snapshot | None:
    """A row's snapshot, or None (logged) when it is in another format: a row published by an older
    or newer gitfeed during an upgrade is passed over (the ranking server soon publishes a readable
    one; a cursor that names it is served by the frame fallback), never misread."""
    try:
        return Snapshot.from_bytes(body, table=table)
    except ValueError as error:
        log.warning("cluster: snapshot %s passed over: %s", snapshot_id, error)
        return None


class ClusterLink:
    """The thread that ties one server to the others (see the module doc). Callbacks run in this
    thread: `on_snapshot(snapshot)` for each newly published snapshot (and the newest of each feed after
    each (re)connect), `on_state(state, moderation)` when the store's state moved (`moderation` is the
    new bans and pins when their version moved, else None), `on_leader(bool)` when this server starts or
    stops ranking."""

    def __init__(
        self,
        url: str,
        *,
        on_snapshot: Callable[[Snapshot], None],
        on_state: Callable[[StoreState, Moderation | None], None],
        on_leader: Callable[[bool], None] = lambda _: None,
        rank: bool = True,
        table: ItemTable | None = None,
    ) -> None:
        self.url = url
        self.table = table  # the server's item table: every snapshot loaded is interned there
        self.on_snapshot = on_snapshot
        self.on_state = on_state
        self.on_leader = on_leader
        self.rank = rank  # False: follow only, never take the ranking lock
        self.leader = False
        self.connected = threading.Event()
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state: StoreState | None = None
        self._seen: set[str] = set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gitfeed-cluster", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _set_leader(self, leader: bool) -> None:
        if leader != self.leader:
            self.leader = leader
            log.info("cluster: %s", "this server ranks now" if leader else "this server no longer ranks")
            self.on_leader(leader)

    def _run(self) -> None:
        from firehose.store.postgres import PgSession

        delay = RECONNECT_FIRST_SECONDS
        while not self._stop.is_set():
            session = None
            try:
                session = PgSession(self.url)
                session.execute(f"LISTEN {CHANNEL}")
                self._catch_up(session)
                self.connected.set()
                delay = RECONNECT_FIRST_SECONDS
                while not self._stop.is_set():
                    self._tick(session)
            except backend.errors() as error:
                self.connected.clear()
                self._set_leader(False)  # the lock went with the connection
                self.reconnects += 1
                log.warning(
                    "cluster: store connection lost (%s); retrying in %.2fs", _first_line(error), delay
                )
            except Exception:  # a bug must not end the thread: the server would stop following
                self.connected.clear()
                self._set_leader(False)
                log.exception("cluster: link failed; restarting it in %.2fs", delay)
            finally:
                if session is not None:
                    session.close()
            self._stop.wait(delay * (0.5 + random.random()))
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)
        self._set_leader(False)

    def _catch_up(self, session: Connection) -> None:
        """After a (re)connect: the newest snapshot of each feed (notifications may have been missed)."""
        self._state = None
        for snapshot in newest(session, table=self.table):
            self._deliver(snapshot)

    def _tick(self, session: Connection) -> None:
        if self.rank and not self.leader:
            locked = session.execute("SELECT pg_try_advisory_lock(?::int, 0)", (LOCK_RANKER,)).fetchone()[0]
            if locked:
                self._set_leader(True)
        state = store_state(session)
        if state != self._state:
            moved = self._state is None or state.moderation_version != self._state.moderation_version
            self.on_state(state, load_moderation(session) if moved else None)
            self._state = state
        for _, snapshot_id in session.notifies(TICK_SECONDS):
            if snapshot_id in self._seen:
                continue
            snapshot = load(session, snapshot_id, table=self.table)
            if snapshot is not None:
                self._deliver(snapshot)

    def _deliver(self, snapshot: Snapshot) -> None:
        if snapshot.snapshot_id in self._seen:
            return
        if len(self._seen) > 4096:
            self._seen.clear()
        self._seen.add(snapshot.snapshot_id)
        self.on_snapshot(snapshot)

    def mark_seen(self, snapshot_id: str) -> None:
        """A snapshot this server built and published itself: its notification needs no load."""
        self._seen.add(snapshot_id)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


__all__ = ["CHANNEL", "ClusterLink", "StoreState", "load", "newest", "publish", "store_state"]
