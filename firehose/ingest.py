"""The ingest loop: source -> bounded buffer -> batches -> scorer -> one transaction per batch.

Three stages, so none of them waits on another more than it must:
- the reader task pulls events from the source (decoding runs there) and puts one list per frame in
  a bounded buffer (`FrameBuffer`); when it is full it stops reading, and the socket's own flow
  control pushes back on the relay (which says ConsumerTooSlow if we fall too far behind);
- the batcher task gathers the buffer into batches of at most `batch_max_events` events or
  `batch_max_seconds` from the batch's first event, so a burst is not a transaction per event and a
  quiet stream still lands within a second; when the writer is idle a batch goes once
  `batch_min_seconds` (0.1 s) have passed since its first event, so a live stream is written in
  batches of a tenth of a second, not a transaction for every event or two;
- one worker thread scores the batch's posts (the embedding model is slow and must not block the
  websocket) and applies rows, counters and cursor in one transaction (`StoreWriter.apply`). The
  next batch is gathered while the previous one commits.

Cancellation (SIGTERM) stops the reader and commits everything already read; a SIGKILL mid-commit
leaves the transaction undone, and the next start resumes from the cursor it saved with the last
committed batch. Either way no post is lost or doubled.

When the scorer is away (scoring workers down or answering nonsense: `ScorerUnavailable`), the worker
thread keeps the batch and retries it with backoff, committing nothing: the cursor moves only after the
scores return. Meanwhile the batcher holds the next batch, the bounded buffer fills, the reader stops
reading, and the source's flow control pushes back on the relay, as for a full disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from firehose.decode.records import load_sdk_post_model
from firehose.events import Event, PostUpserted
from firehose.heap import HeapTrimmer
from firehose.scoring import LinkScorer, PostScorer, ScorerUnavailable, decisions
from firehose.sources.backoff import Backoff
from firehose.store import backend, labels
from firehose.store.backend import is_disk_full
from firehose.store.rows import KeptPost
from firehose.store.writer import BatchResult, StoreWriter

if TYPE_CHECKING:
    import sqlite_utils

    from firehose.settings import Settings
    from firehose.sources.base import Source

log = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 10.0
PRUNE_EVERY_SECONDS = 600.0
DISK_FULL_FIRST_RETRY_SECONDS = 0.5
# A full disk is retried at most this often, so ingest resumes within seconds of space being freed (a
# retry costs one rolled-back transaction); at 30 s, doubling from 0.5, a 20 s outage left it asleep for
# up to 16 s more after the space came back.
DISK_FULL_MAX_RETRY_SECONDS = 4.0
STORE_LOST_MAX_RETRY_SECONDS = 2.0  # a store that went away (PostgreSQL restarting) is retried this often


@dataclass
class IngestStats:
    """Running counters of one ingest run (process-local; the store keeps the durable ones)."""

    started: float = field(default_factory=time.monotonic)
    events: int = 0
    batches: int = 0
    skipped: int = 0
    posts_scored: int = 0
    posts_inserted: int = 0
    posts_deleted: int = 0
    engagements: int = 0
    fields_truncated: int = 0  # what the caps cut or skipped (store.writer.BatchResult says which)
    facets_dropped: int = 0
    ops_skipped: int = 0
    cids_unverified: int = 0
    kept_by_topic: Counter[str] = field(default_factory=Counter)
    cursor: int | None = None
    commit_seconds: float = 0.0
    score_seconds: float = 0.0
    scorer_failures: int = 0
    scorer_retries: int = 0  # tries of a batch the scorer could not score (it waited, uncommitted)
    scorer_waiting_since: float | None = None  # monotonic time the current wait on the scorer began
    disk_full_retries: int = 0
    store_lost_retries: int = 0  # batches retried because the store was unreachable (PostgreSQL restart)
    last_lag_seconds: float = 0.0  # first event of the last batch read -> its commit
    queue_depth: int = 0
    _samples: deque[tuple[float, int]] = field(default_factory=lambda: deque(maxlen=512), repr=False)

    def record(self, result: BatchResult, lag: float) -> None:
        self.events += result.events
        self.batches += 1
        self.skipped += result.skipped
        self.posts_inserted += result.posts_inserted
        self.posts_deleted += result.posts_deleted
        self.engagements += result.engagements_applied
        self.fields_truncated += result.fields_truncated
        self.facets_dropped += result.facets_dropped
        self.ops_skipped += result.ops_skipped
        self.cids_unverified += result.cids_unverified
        self.kept_by_topic.update(result.kept_by_topic)
        if result.cursor is not None:
            self.cursor = result.cursor
        self.last_lag_seconds = lag
        self._samples.append((time.monotonic(), self.events))

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def events_per_second(self) -> float:
        """Committed events per second over the last few seconds (the whole run when shorter)."""
        now = time.monotonic()
        while len(self._samples) > 1 and now - self._samples[0][0] > RATE_WINDOW_SECONDS:
            self._samples.popleft()
        if not self._samples:
            return 0.0
        t0, n0 = (self.started, 0) if now - self.started <= RATE_WINDOW_SECONDS else self._samples[0]
        return (self.events - n0) / max(now - t0, 1e-9)


class FrameBuffer:
    """The bounded hand-off from the reader to the batcher: a deque of frames (one event list each).

    Why not an asyncio.Queue: at 10,000+ frames a second its put/get (half a dozen Python calls
    each, a waiter scan, a timeout context per wait) was a tenth of the ingest's CPU. Here the
    reader appends and wakes the batcher only when it is waiting; the batcher takes whole frames
    (never splitting one, so a batch's cursor always covers all of its events).
    """

    def __init__(self, maxsize: int) -> None:
        self.frames: deque[list[Event]] = deque()
        self.maxsize = maxsize
        self.ended = False  # the reader is done: no frame will follow those in `frames`
        self._data: asyncio.Future[None] | None = None  # the batcher, waiting for a frame
        self._room: asyncio.Future[None] | None = None  # the reader, waiting for space

    def put(self, events: list[Event]) -> bool:
        """Append one frame's events; True when the buffer is now full (await `wait_room()`)."""
        self.frames.append(events)
        if self._data is not None:
            _wake(self._data)
            self._data = None
        return len(self.frames) >= self.maxsize

    def nudge(self) -> None:
        """Wake a waiting batcher without a frame: the writer went idle, so a partial batch can go now."""
        if self._data is not None:
            _wake(self._data)

    def close(self) -> None:
        """The reader ended (or failed, or was cancelled): the batcher drains what is left, then ends."""
        self.ended = True
        if self._data is not None:
            _wake(self._data)

    async def wait_room(self) -> None:
        while len(self.frames) >= self.maxsize:
            self._room = asyncio.get_running_loop().create_future()
            try:
                await self._room
            finally:
                self._room = None

    async def wait_data(self, timeout: float | None = None) -> None:
        """Until a frame arrives or the reader ends (or `timeout` seconds pass)."""
        if self.frames or self.ended:
            return
        loop = asyncio.get_running_loop()
        self._data = future = loop.create_future()
        timer = loop.call_later(timeout, _wake, future) if timeout is not None else None
        try:
            await future
        finally:
            self._data = None
            if timer is not None:
                timer.cancel()

    def take(self, batch: list[Event], max_events: int) -> None:
        """Move whole frames into `batch` until it holds `max_events` events (or the buffer is empty)."""
        frames = self.frames
        while frames and len(batch) < max_events:
            batch.extend(frames.popleft())
        if self._room is not None and len(frames) < self.maxsize:
            _wake(self._room)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Ingest:
    """Runs one source into the store until the source ends, `stop()` is called, or the task is cancelled."""

    def __init__(
        self,
        source: Source,
        db: sqlite_utils.Database,
        settings: Settings,
        scorer: PostScorer | None = None,
        *,
        queue_frames: int | None = None,
        on_batch: Callable[[BatchResult, IngestStats], None] | None = None,
    ) -> None:
        self.source = source
        self.label_policy = labels.LabelPolicy.from_settings(settings)
        self.writer = StoreWriter(db, source.service, label_queue_max=self.label_policy.cap)
        self.scorer: PostScorer = scorer or LinkScorer()
        self.thresholds: Mapping[str, float] = settings.thresholds
        self.max_events = settings.batch_max_events
        self.max_seconds = settings.batch_max_seconds
        self.min_seconds = min(settings.batch_min_seconds, settings.batch_max_seconds)
        self.stats = IngestStats()
        self.on_batch = on_batch
        # Two batches' worth: the next batch is gathered while one commits, and one more waits. More
        # read-ahead buys no speed (the writer sets the pace; the backlog waits in the relay) but is
        # memory held whenever the writer stops: in a 20 s full-disk fault the buffer fills, and at four
        # batches the process kept about 9 MiB more for the rest of the run (arenas left part-used).
        self._buffer = FrameBuffer(queue_frames or max(64, 2 * settings.batch_max_events))
        self._fallback = LinkScorer()
        self._reader: asyncio.Task[None] | None = None
        self.retention_seconds = settings.retention_days * 86400
        self._stopping = False
        self._stopped = threading.Event()  # wakes the worker thread out of a retry wait
        self._scorer_backoff = Backoff.from_settings(settings)
        self._pending: asyncio.Future[tuple[BatchResult, float]] | None = None  # the batch being written
        self._next_prune = 0.0  # monotonic time of the next retention pass; the first runs at start
        self.heap = HeapTrimmer()

    # ------------------------------------------------------------------ public

    async def run(self) -> IngestStats:
        """Resume from the saved cursor and ingest; returns the stats. Re-raises a source's fatal error.

        On a shared store (PostgreSQL) the writer first claims the source: a second ingest of the same
        source waits here until the first stops (a signal stops the waiting too).
        """
        if not await asyncio.to_thread(self.writer.claim, stop=lambda: self._stopping):
            return self.stats
        await asyncio.to_thread(load_sdk_post_model)
        self.source.cursor = self.writer.cursor()
        self.stats.cursor = self.source.cursor
        log.info("ingest: %s from cursor %s", self.source.describe(), self.source.cursor)
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gitfeed-commit")
        self._reader = asyncio.create_task(self._read(), name="gitfeed-reader")
        batcher = asyncio.create_task(self._batches(executor), name="gitfeed-batcher")
        try:
            await asyncio.wait({self._reader, batcher}, return_when=asyncio.FIRST_EXCEPTION)
            if batcher.done() and batcher.exception() is not None:
                self._reader.cancel()
                await asyncio.gather(self._reader, return_exceptions=True)
                raise batcher.exception()  # type: ignore[misc]
            await batcher  # the reader ended (or failed): the batcher commits what it read, then ends
            if not self._reader.cancelled() and self._reader.exception() is not None:
                raise self._reader.exception()  # type: ignore[misc]
        except asyncio.CancelledError:
            # Shutdown: stop reading, commit what was read (a whole batch or nothing), then stop.
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            with contextlib.suppress(Exception):
                await batcher
            raise
        finally:
            executor.shutdown(wait=True)
        return self.stats

    def stop(self) -> None:
        """Stop reading; what was read is committed and `run()` returns. While the scorer is away, the
        batch waiting on it is not committed (it has no scores) and `run()` raises ScorerUnavailable."""
        self._stopping = True
        self._stopped.set()
        if self._reader is not None:
            self._reader.cancel()

    # ------------------------------------------------------------------ stages

    async def _read(self) -> None:
        buffer = self._buffer
        try:
            async with contextlib.aclosing(self.source.stream()) as stream:  # closes the socket on cancel
                async for events in stream:
                    if buffer.put(events):
                        await buffer.wait_room()
        finally:
            buffer.close()  # synchronous, so a second cancellation cannot lose the end mark

    async def _collect(self) -> tuple[list[Event], bool]:
        """One batch from the buffer; True once the reader has ended and the buffer is drained."""
        buffer = self._buffer
        loop = asyncio.get_running_loop()
        await buffer.wait_data()
        batch: list[Event] = []
        first = loop.time()
        deadline = first + self.max_seconds
        gathered = first + self.min_seconds
        while True:
            buffer.take(batch, self.max_events)
            if len(batch) >= self.max_events:
                return batch, False
            if buffer.ended:
                return batch, not buffer.frames
            if not buffer.frames and (self._pending is None or self._pending.done()):
                # The writer is idle. Past batch_min_seconds, waiting for more would only add latency;
                # before it, a live stream's events would go a few at a time, and a transaction's cost
                # (its pages rewritten, the thread hand-off) is then paid per event, not per batch.
                if loop.time() >= gathered:
                    return batch, False
                await buffer.wait_data(gathered - loop.time())
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return batch, False
            await buffer.wait_data(remaining)

    async def _batches(self, executor: ThreadPoolExecutor) -> None:
        """Batches go to the writer one at a time, in order. While one is written the next one grows (up
        to batch_max_events / batch_max_seconds); when the writer is idle, whatever has arrived goes at
        once, so a quiet stream is written with no added wait and a busy one in large batches."""
        loop = asyncio.get_running_loop()
        ended = False
        while not ended:
            batch, ended = await self._collect()
            self.stats.queue_depth = len(self._buffer.frames)
            if self._pending is not None:
                await asyncio.shield(self._pending)  # raises if that batch failed
                self._pending = None
            if batch:
                pending = loop.run_in_executor(executor, self._commit, batch, time.monotonic())
                pending.add_done_callback(self._committed)  # stats move as soon as it commits
                pending.add_done_callback(lambda _: self._buffer.nudge())
                self._pending = pending
        if self._pending is not None:
            await asyncio.shield(self._pending)

    def _committed(self, future: asyncio.Future[tuple[BatchResult, float]]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        result, lag = future.result()
        self.stats.record(result, lag)
        if self.on_batch is not None:
            self.on_batch(result, self.stats)

    # ------------------------------------------------------------------ the worker thread

    def _commit(self, batch: Sequence[Event], read_at: float) -> tuple[BatchResult, float]:
        kept, queued = self._classify([e for e in batch if type(e) is PostUpserted])  # type: ignore[misc]
        started = time.monotonic()
        result = self._apply_until_written(batch, kept, queued)
        done = time.monotonic()
        self.stats.commit_seconds += done - started
        self.heap.maybe()  # a backlog read during a fault or a burst is freed as it is written
        if done >= self._next_prune:
            self._next_prune = done + PRUNE_EVERY_SECONDS
            try:
                pruned = self.writer.prune(self.retention_seconds)
            except backend.errors() as error:
                if not backend.connection_lost(error):
                    raise
                self.writer.connection_lost()
                self._next_prune = done + 10.0  # a batch in 10 s tries again
                log.warning("ingest: retention skipped, the store is unreachable: %s", error)
                pruned = 0
            if pruned:
                log.info(
                    "ingest: pruned %d posts older than %.1f days", pruned, self.retention_seconds / 86400
                )
        return result, done - read_at

    def _apply_until_written(
        self, batch: Sequence[Event], kept: dict[str, KeptPost], queued: Sequence[labels.QueuedPost] = ()
    ) -> BatchResult:
        """Apply a batch; on a full disk, or a store that went away (PostgreSQL restarting), wait and
        retry the same batch (it rolled back whole: rows and cursor are one transaction).

        The reader keeps filling the bounded buffer meanwhile and then stops reading, so the relay holds
        the backlog, and nothing is lost while an operator frees space or the database comes back.
        """
        delay = DISK_FULL_FIRST_RETRY_SECONDS
        while True:
            try:
                return self.writer.apply(batch, kept, queued)
            except backend.errors() as error:
                if self._stopping:
                    raise
                if backend.connection_lost(error):
                    self.stats.store_lost_retries += 1
                    self.writer.connection_lost()  # its advisory lock went with the connection
                    log.error(
                        "ingest: the store is unreachable (%s); retrying the batch in %.1fs",
                        str(error).strip().splitlines()[0] if str(error).strip() else error,
                        delay,
                    )
                    time.sleep(delay)
                    delay = min(delay * 2, STORE_LOST_MAX_RETRY_SECONDS)
                    continue
                if not is_disk_full(error):
                    raise
                self.stats.disk_full_retries += 1
                log.error("ingest: %s; retrying the batch in %.1fs", error, delay)
                time.sleep(delay)
                delay = min(delay * 2, DISK_FULL_MAX_RETRY_SECONDS)

    def _classify(self, posts: list[PostUpserted]) -> tuple[dict[str, KeptPost], list[labels.QueuedPost]]:
        """What to keep of a batch's posts, and which of them enter the label queue."""
        if not posts:
            return {}, []
        records = [post.record for post in posts]
        started = time.monotonic()
        try:
            scores = self._score_until_answered(records)
        except ScorerUnavailable:
            raise  # stopping while the scorer is away: this batch is not committed, the cursor stays
        except Exception:
            # A scorer bug must not stop the stream: report it and keep this batch by the link rule.
            self.stats.scorer_failures += 1
            log.exception("ingest: scorer failed on a batch of %d posts; using the link rule", len(posts))
            scores = self._fallback.score(records)
        kept = decisions(records, scores, self.thresholds)
        queued = labels.picks(posts, scores, self.thresholds, self.label_policy)
        self.stats.score_seconds += time.monotonic() - started
        self.stats.posts_scored += len(posts)
        return {post.uri: d for post, d in zip(posts, kept, strict=True) if d is not None}, queued

    def _score_until_answered(self, records: list[dict]) -> list[dict[str, float]]:
        """The scorer's scores for `records`, however long the scorer is away (ScorerUnavailable is
        retried with capped, jittered backoff); re-raised only when ingest is stopping meanwhile."""
        stats = self.stats
        while True:
            try:
                scores = self.scorer.score(records)
            except ScorerUnavailable as error:
                if self._stopping:
                    raise
                stats.scorer_retries += 1
                if stats.scorer_waiting_since is None:
                    stats.scorer_waiting_since = time.monotonic()
                delay = self._scorer_backoff.next_delay()
                waited = time.monotonic() - stats.scorer_waiting_since
                log.warning(
                    "ingest: waiting on the scorer for %.0fs, nothing committed since (cursor %s): %s; "
                    "retrying the batch of %d posts in %.1fs",
                    waited,
                    stats.cursor,
                    error,
                    len(records),
                    delay,
                )
                self._stopped.wait(delay)
                continue
            if stats.scorer_waiting_since is not None:
                log.warning(
                    "ingest: the scorer answered after %.1fs; resuming",
                    time.monotonic() - stats.scorer_waiting_since,
                )
                stats.scorer_waiting_since = None
            self._scorer_backoff.connected()
            return scores
