"""The one writer: applies a batch of events and the source cursor in a single transaction.

Replaying events already applied changes nothing (posts upsert by uri, engagements are keyed by
their own uri), so a crash at any point resumes from the saved cursor without losing or doubling.
Likes and reposts touch the database only when their subject is a stored post: one query per
batch finds which subjects are stored, never one per like.

On PostgreSQL several processes can reach the store, so a writer first claims its source (`claim`):
a session advisory lock keyed by the service (a second ingest of the same source waits for it), then
the epoch on the source's cursor row is bumped. Each batch checks that epoch, row-locked, before it
commits: a writer that another took over from (it lost its lock, e.g. with its connection) finds the
epoch moved, rolls the batch back and raises `WriterFencedError`. On SQLite, one file has one writer
(SQLite's own lock); `claim` does nothing there.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlite_utils

from firehose.events import (
    AccountChanged,
    EngagementCreated,
    EngagementDeleted,
    Event,
    IdentityChanged,
    PostDeleted,
    PostUpserted,
    Progress,
    SkippedFrame,
)
from firehose.store import labels
from firehose.store.backend import LOCK_INGEST, POSTGRES, dialect_of
from firehose.store.rows import MAX_STORED_LINKS, KeptPost, post_row
from firehose.store.schema import write_transaction
from firehose.store.status import CAP_COUNTERS

log = logging.getLogger(__name__)

# Statuses that remove an account's posts for good; any other inactive status hides them.
REMOVING_STATUSES = frozenset({"takendown", "deleted"})
SQL_CHUNK = 500
POST_COLUMNS = (
    "uri cid author rkey text langs created_at created_ts indexed_ts reply_root reply_parent "
    "github_urls repos card_title card_description score_github score_ml"
).split()
UPSERT_POST = (
    f"INSERT INTO posts ({', '.join(POST_COLUMNS)}) VALUES ({', '.join('?' * len(POST_COLUMNS))}) "
    "ON CONFLICT(uri) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in POST_COLUMNS if c not in ("uri", "indexed_ts"))
)


@dataclass
class BatchResult:
    """What one batch changed, for logs, stats and tests."""

    events: int = 0
    cursor: int | None = None
    posts_inserted: int = 0
    posts_updated: int = 0
    posts_deleted: int = 0
    engagements_applied: int = 0
    skipped: int = 0
    kept_by_topic: Counter[str] = field(default_factory=Counter)
    # What the caps cut or skipped (README: "Caps on hostile input"); durable in `counters` as well.
    fields_truncated: int = 0  # strings cut by the decoder's caps, and github link lists cut here
    facets_dropped: int = 0  # facets past a post's first MAX_FACETS
    ops_skipped: int = 0  # ops of commits skipped whole for having more than the lexicon's 200
    cids_unverified: int = 0  # blocks skipped because their CID names a hash function we cannot check
    queued: int = 0  # posts put in the label queue (firehose.store.labels)


class WriterFencedError(RuntimeError):
    """Another ingest took this source over (the epoch on its cursor row moved): this one must stop."""


def _chunks(items: Sequence[str], size: int = SQL_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class StoreWriter:
    """Writes batches for one source (`service`, e.g. the relay URL) into the store."""

    def __init__(self, db: sqlite_utils.Database, service: str, *, label_queue_max: int = 0) -> None:
        self.db = db
        self.service = service
        self.label_queue_max = label_queue_max
        self.shared = dialect_of(db) == POSTGRES  # other processes may write this store
        self.epoch: int | None = None  # this writer's epoch once it claimed the source (PostgreSQL)
        self._lock_lost = False  # the connection holding the advisory lock broke (`connection_lost`)

    def cursor(self) -> int | None:
        """The cursor saved with the last committed batch of this source."""
        row = self.db.execute("SELECT cursor FROM sub_state WHERE service = ?", [self.service]).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def claim(
        self,
        *,
        poll_seconds: float = 0.2,
        stop: Callable[[], bool] = lambda: False,
        on_wait: Callable[[], None] | None = None,
    ) -> bool:
        """Become this source's only writer (PostgreSQL): wait for its advisory lock, then bump the
        epoch on its cursor row. Returns False when `stop()` turned true while waiting. No-op on SQLite.

        Waits by polling `pg_try_advisory_lock`, so a signal can stop a waiting ingest.
        """
        if not self.shared or self.epoch is not None:
            return True
        key = "SELECT pg_try_advisory_lock(?::int, hashtext(?))"
        waited = False
        while not self.db.execute(key, [LOCK_INGEST, self.service]).fetchone()[0]:
            if not waited:
                waited = True
                log.warning("ingest: another writer holds %s; waiting for it to stop", self.service)
                if on_wait is not None:
                    on_wait()
            if stop():
                return False
            time.sleep(poll_seconds)
        row = self.db.execute(
            "INSERT INTO sub_state (service, cursor, updated_ts, epoch) VALUES (?, NULL, ?, 1) "
            "ON CONFLICT(service) DO UPDATE SET epoch = sub_state.epoch + 1 RETURNING epoch",
            [self.service, time.time()],
        ).fetchone()
        self.epoch = int(row[0])
        log.info("ingest: writer of %s, epoch %d", self.service, self.epoch)
        return True

    def connection_lost(self) -> None:
        """The store connection broke (PostgreSQL restarted): the advisory lock went with it, so the
        next batch takes it again first (`_retake`)."""
        if self.shared and self.epoch is not None:
            self._lock_lost = True

    def _retake(self, poll_seconds: float = 0.2) -> None:
        """After a lost connection: wait for the source's lock again, then check that nobody took the
        source over meanwhile (the epoch is still ours); else WriterFencedError."""
        key = "SELECT pg_try_advisory_lock(?::int, hashtext(?))"
        while True:
            locked = self.db.execute(key, [LOCK_INGEST, self.service]).fetchone()[0]
            row = self.db.execute("SELECT epoch FROM sub_state WHERE service = ?", [self.service]).fetchone()
            if row is None or int(row[0]) != self.epoch:
                if locked:
                    unlock = "SELECT pg_advisory_unlock(?::int, hashtext(?))"
                    self.db.execute(unlock, [LOCK_INGEST, self.service])
                raise WriterFencedError(
                    f"ingest of {self.service} was taken over by another writer while the store was away "
                    f"(epoch {self.epoch} -> {None if row is None else int(row[0])}): this one stops"
                )
            if locked:
                break
            time.sleep(poll_seconds)  # the old session's lock is not released yet
        self._lock_lost = False
        log.info("ingest: writer of %s again after a lost connection, epoch %d", self.service, self.epoch)

    def _check_epoch(self) -> None:
        """Inside the batch's transaction: the cursor row, locked, still carries our epoch."""
        row = self.db.execute(
            "SELECT epoch FROM sub_state WHERE service = ? FOR UPDATE", [self.service]
        ).fetchone()
        if row is None or int(row[0]) != self.epoch:
            now = None if row is None else int(row[0])
            raise WriterFencedError(
                f"ingest of {self.service} was taken over by another writer (epoch {self.epoch} -> {now}): "
                "this one rolled its batch back and stops"
            )

    def _existing(self, table: str, uris: set[str]) -> set[str]:
        found: set[str] = set()
        ordered = sorted(uris)
        for chunk in _chunks(ordered):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(f"SELECT uri FROM {table} WHERE uri IN ({marks})", list(chunk))
            found.update(row[0] for row in rows)
        return found

    def apply(
        self,
        events: Sequence[Event],
        kept: Mapping[str, KeptPost],
        queued: Sequence[labels.QueuedPost] = (),
    ) -> BatchResult:
        """Apply `events` in order plus counters and cursor, atomically; `kept` maps post uri -> decision,
        `queued` are the posts that enter the label queue (bounded to `label_queue_max` per reason)."""
        result = BatchResult(events=len(events))
        now = time.time()
        # One pass sorts out what needs the database: most events (likes of posts we do not store,
        # follows and other Progress) need nothing but a set lookup, so the loop below skips them.
        post_uris: set[str] = set()
        subjects: set[str] = set()
        unliked: set[str] = set()
        deleted: list[str] = []
        work: list[Event] = []
        cursor = None
        skipped = posts_seen = 0
        for event in events:
            kind = type(event)
            if event.cursor is not None:
                cursor = event.cursor
            if kind is Progress:
                continue
            if kind is EngagementCreated:
                subjects.add(event.subject_uri)  # type: ignore[union-attr]
            elif kind is EngagementDeleted:
                unliked.add(event.uri)  # type: ignore[union-attr]
            elif kind is PostUpserted:
                post_uris.add(event.uri)  # type: ignore[union-attr]
                posts_seen += 1
                if event.fields_truncated or event.facets_dropped:  # type: ignore[union-attr]
                    result.fields_truncated += event.fields_truncated  # type: ignore[union-attr]
                    result.facets_dropped += event.facets_dropped  # type: ignore[union-attr]
            elif kind is PostDeleted:
                post_uris.add(event.uri)  # type: ignore[union-attr]
                deleted.append(event.uri)  # type: ignore[union-attr]
            elif kind is SkippedFrame:
                skipped += 1
                result.ops_skipped += event.ops  # type: ignore[union-attr]
                if event.reason == "unsupported_hash":  # type: ignore[union-attr]
                    result.cids_unverified += 1
                continue
            work.append(event)
        result.cursor = cursor
        result.skipped = skipped
        if self.shared and self.epoch is None:
            self.claim()
        elif self._lock_lost:
            self._retake()
        with write_transaction(self.db):
            stored_posts = self._existing("posts", post_uris | subjects)
            stored_engagements = self._existing("engagements", unliked)
            for event in work:
                kind = type(event)
                if kind is EngagementCreated:
                    if event.subject_uri in stored_posts and self._add_engagement(event):  # type: ignore[union-attr]
                        stored_engagements.add(event.uri)  # type: ignore[union-attr]
                        result.engagements_applied += 1
                elif kind is EngagementDeleted:
                    uri = event.uri  # type: ignore[union-attr]
                    if uri in stored_engagements and self._remove_engagement(uri):
                        stored_engagements.discard(uri)
                        result.engagements_applied += 1
                elif kind is PostUpserted:
                    self._upsert_post(event, kept.get(event.uri), now, stored_posts, result)  # type: ignore[arg-type,union-attr]
                elif kind is PostDeleted:
                    uri = event.uri  # type: ignore[union-attr]
                    if uri in stored_posts:
                        self._delete_posts([uri])
                        stored_posts.discard(uri)
                        result.posts_deleted += 1
                elif kind is AccountChanged:
                    result.posts_deleted += self._account_changed(event, now, stored_posts)  # type: ignore[arg-type]
                elif kind is IdentityChanged:
                    self._identity_changed(event, now)  # type: ignore[arg-type]
            if deleted:
                labels.forget(self.db.conn, deleted)
            if queued and self.label_queue_max:
                labels.enqueue(self.db.conn, queued, self.label_queue_max, now)
                result.queued = len(queued)
            self._count(result, posts_seen)
            if self.shared:
                self._check_epoch()
            if result.cursor is not None:
                self.db.execute(
                    "INSERT INTO sub_state (service, cursor, updated_ts) VALUES (?, ?, ?) "
                    "ON CONFLICT(service) DO UPDATE SET "
                    "cursor = excluded.cursor, updated_ts = excluded.updated_ts",
                    [self.service, result.cursor, now],
                )
        return result

    def _upsert_post(
        self,
        event: PostUpserted,
        decision: KeptPost | None,
        now: float,
        stored: set[str],
        result: BatchResult,
    ) -> None:
        if decision is None:
            if event.uri in stored:  # an edit took the post out of every topic
                self._delete_posts([event.uri])
                stored.discard(event.uri)
                result.posts_deleted += 1
            return
        row = post_row(event, decision, now)
        if len(decision.links) > MAX_STORED_LINKS:
            result.fields_truncated += 1  # post_row kept the first MAX_STORED_LINKS
        self.db.execute(UPSERT_POST, [row[c] for c in POST_COLUMNS])
        if event.uri in stored:
            result.posts_updated += 1
        else:
            stored.add(event.uri)
            result.posts_inserted += 1
            result.kept_by_topic.update(decision.topics)

    def _delete_posts(self, uris: Sequence[str]) -> None:
        for chunk in _chunks(uris):
            marks = ",".join("?" * len(chunk))
            self.db.execute(f"DELETE FROM engagements WHERE subject_uri IN ({marks})", list(chunk))
            self.db.execute(f"DELETE FROM posts WHERE uri IN ({marks})", list(chunk))

    def _add_engagement(self, event: EngagementCreated) -> bool:
        inserted = self.db.execute(
            "INSERT INTO engagements (uri, kind, author, subject_uri) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(uri) DO NOTHING",
            [event.uri, event.kind, event.did, event.subject_uri],
        ).rowcount
        if inserted:
            column = "like_count" if event.kind == "like" else "repost_count"
            self.db.execute(f"UPDATE posts SET {column} = {column} + 1 WHERE uri = ?", [event.subject_uri])
        return bool(inserted)

    def _remove_engagement(self, uri: str) -> bool:
        row = self.db.execute(
            "DELETE FROM engagements WHERE uri = ? RETURNING kind, subject_uri", [uri]
        ).fetchone()
        if row is None:
            return False
        column = "like_count" if row[0] == "like" else "repost_count"
        self.db.execute(
            f"UPDATE posts SET {column} = CASE WHEN {column} > 0 THEN {column} - 1 ELSE 0 END WHERE uri = ?",
            [row[1]],
        )
        return True

    def _account_changed(self, event: AccountChanged, now: float, stored: set[str]) -> int:
        status = None if event.active else (event.status or "inactive")
        self.db.execute(
            "INSERT INTO accounts (did, active, status, updated_ts) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(did) DO UPDATE SET active = excluded.active, status = excluded.status, "
            "updated_ts = excluded.updated_ts",
            [event.did, int(event.active), status, now],
        )
        if status not in REMOVING_STATUSES:
            return 0
        labels.forget_author(self.db.conn, event.did)
        uris = [row[0] for row in self.db.execute("SELECT uri FROM posts WHERE author = ?", [event.did])]
        self._delete_posts(uris)
        stored.difference_update(uris)
        log.info("account %s %s: removed %d posts", event.did, status, len(uris))
        return len(uris)

    def _identity_changed(self, event: IdentityChanged, now: float) -> None:
        """Remember handles of authors we store, for display; the rest of the network is not our business."""
        if event.handle is None:
            return
        known = self.db.execute(
            "SELECT 1 FROM posts WHERE author = ? UNION ALL SELECT 1 FROM accounts WHERE did = ? LIMIT 1",
            [event.did, event.did],
        ).fetchone()
        if known:
            self.db.execute(
                "INSERT INTO accounts (did, handle, updated_ts) VALUES (?, ?, ?) "
                "ON CONFLICT(did) DO UPDATE SET handle = excluded.handle, updated_ts = excluded.updated_ts",
                [event.did, event.handle, now],
            )

    def _count(self, result: BatchResult, posts_seen: int) -> None:
        increments = {
            "events_seen": result.events,
            "frames_skipped": result.skipped,
            "posts_seen": posts_seen,
            "posts_kept": result.posts_inserted,
            **{name: getattr(result, name) for name in CAP_COUNTERS},
            **{f"kept_{topic}": count for topic, count in result.kept_by_topic.items()},
        }
        self.db.conn.executemany(
            "INSERT INTO counters (name, value) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET value = counters.value + excluded.value",
            [(name, value) for name, value in increments.items() if value],
        )

    def prune_candidates(self, older_than_seconds: float) -> int:
        """How many posts `prune(older_than_seconds)` would delete now."""
        cutoff = time.time() - older_than_seconds
        return self.db.execute("SELECT count(*) FROM posts WHERE indexed_ts < ?", [cutoff]).fetchone()[0]

    def prune(
        self,
        older_than_seconds: float,
        batch_size: int = 5000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Delete posts indexed before now - older_than_seconds, in small transactions; returns the count.

        Age counts from when we stored the post, not its claimed createdAt, so a replayed capture or a
        backdated post is not dropped the moment it lands.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        while True:
            with write_transaction(self.db):
                uris = [
                    row[0]
                    for row in self.db.execute(
                        "SELECT uri FROM posts WHERE indexed_ts < ? LIMIT ?", [cutoff, batch_size]
                    )
                ]
                self._delete_posts(uris)
            removed += len(uris)
            if progress is not None:
                progress(len(uris))
            if len(uris) < batch_size:
                return removed
