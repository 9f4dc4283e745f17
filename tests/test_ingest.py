"""The ingest loop end to end: real sources (a capture file, a local relay) into a real SQLite file."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlite_utils

from firehose.capture import CaptureWriter
from firehose.decode.relay import decode_frame
from firehose.events import Event, PostUpserted
from firehose.ingest import Ingest, IngestStats
from firehose.scoring import LinkScorer, kept_topics
from firehose.settings import Settings, load_settings
from firehose.sources.base import Source
from firehose.sources.capture import CaptureSource
from firehose.sources.relay import RelaySource
from firehose.store.rows import KeptPost
from firehose.store.schema import open_db
from firehose.store.writer import BatchResult, StoreWriter
from tests.support import framegen as fg
from tests.support.relayserver import RelayServer
from tests.support.stories import ALICE, BOB, story, write_capture


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "receive_timeout_seconds": 0.5,
        "backoff_initial_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "batch_max_events": 1000,
        "batch_max_seconds": 0.2,
    }
    values.update(overrides)
    return load_settings(**values)


def ingest_capture(
    db_path: Path, capture: Path, cfg: Settings | None = None, **kw: object
) -> tuple[Ingest, list]:
    cfg = cfg or settings()
    db = open_db(db_path)
    batches: list[BatchResult] = []
    runner = Ingest(
        CaptureSource(capture, cfg), db, cfg, LinkScorer(), on_batch=lambda r, s: batches.append(r), **kw
    )
    asyncio.run(runner.run())
    db.close()
    return runner, batches


def test_a_capture_lands_in_sqlite_with_counts_deletes_and_takedowns(tmp_path: Path, db_path: Path) -> None:
    capture = write_capture(tmp_path / "story.bin.zst", story())
    runner, _ = ingest_capture(db_path, capture)
    db = open_db(db_path)
    posts = {row["uri"]: row for row in db["posts"].rows}
    gh = fg.post_uri(ALICE, "3kgh0000000a2")
    assert list(posts) == [gh]  # the plain post was never kept, Carol's was deleted, Bob's taken down
    assert posts[gh]["like_count"] == 1 and posts[gh]["repost_count"] == 1
    assert posts[gh]["score_github"] == 1.0
    assert posts[gh]["repos"] == '["pallets/flask"]'
    counters = dict(db.execute("SELECT name, value FROM counters").fetchall())
    assert counters["events_seen"] == 12  # 11 events of the 10 frames with a seq + the garbage frame
    assert counters["frames_skipped"] == 1
    assert counters["posts_seen"] == 4
    assert counters["kept_github"] == 3
    assert db.execute("SELECT cursor FROM sub_state").fetchone()[0] == 10
    assert dict(db.execute("SELECT did, status FROM accounts WHERE did = ?", [BOB]).fetchall()) == {
        BOB: "takendown"
    }
    assert runner.stats.events == 12 and runner.stats.cursor == 10


def test_replaying_the_same_capture_again_changes_nothing(tmp_path: Path, db_path: Path) -> None:
    capture = write_capture(tmp_path / "story.bin.zst", story())
    ingest_capture(db_path, capture)
    db = open_db(db_path)
    before = (list(db["posts"].rows), db.execute("SELECT * FROM counters ORDER BY name").fetchall())
    db.close()
    runner, batches = ingest_capture(db_path, capture)
    db = open_db(db_path)
    assert (list(db["posts"].rows), db.execute("SELECT * FROM counters ORDER BY name").fetchall()) == before
    assert runner.stats.events == 0 and batches == []


def test_batches_are_cut_by_count(tmp_path: Path, db_path: Path) -> None:
    frames = [
        fg.commit_frame(seq, ALICE, [fg.like_op(fg.tid(seq), fg.post_uri(BOB, "3kx"))])
        for seq in range(1, 24)
    ]
    capture = write_capture(tmp_path / "likes.bin.zst", frames)
    _, batches = ingest_capture(db_path, capture, settings(batch_max_events=5, batch_max_seconds=30))
    # No batch passes the cap; a batch goes early only when the writer is idle (no wait is added).
    assert all(b.events <= 5 for b in batches) and sum(b.events for b in batches) == 23
    assert [b.cursor for b in batches] == sorted(b.cursor for b in batches) and batches[-1].cursor == 23
    assert 5 in [b.events for b in batches]


def test_a_quiet_stream_lands_within_batch_max_seconds(db_path: Path) -> None:
    async def main() -> tuple[float, IngestStats]:
        async with RelayServer(story()[:3]) as server:  # sends 3 frames, then stays connected and silent
            cfg = settings(batch_max_events=1000, batch_max_seconds=0.2, receive_timeout_seconds=30)
            runner = Ingest(RelaySource(server.url, cfg), open_db(db_path), cfg, LinkScorer())
            task = asyncio.create_task(runner.run())
            started = time.monotonic()
            while runner.stats.cursor != 3:
                await asyncio.sleep(0.01)
            landed = time.monotonic() - started
            runner.stop()
            await task
            return landed, runner.stats

    landed, stats = asyncio.run(main())
    assert landed < 1.0
    assert stats.batches == 1 and stats.events == 3


class TrickleSource(Source):
    """A live stream: one frame every `gap` seconds, then a pause before it ends."""

    kind = "trickle"

    def __init__(self, frames: list[bytes], gap: float) -> None:
        super().__init__("trickle")
        self.frames, self.gap = frames, gap

    async def stream(self) -> AsyncIterator[list[Event]]:
        for frame in self.frames:
            await asyncio.sleep(self.gap)
            yield decode_frame(frame)  # type: ignore[misc]
        await asyncio.sleep(1.0)


@pytest.mark.parametrize(("min_seconds", "at_most_batches"), [(0.5, 1), (0.0, None)])
def test_a_live_trickle_is_gathered_for_batch_min_seconds(
    db_path: Path, min_seconds: float, at_most_batches: int | None
) -> None:
    """With an idle writer, frames 10 ms apart go as one batch within batch_min_seconds, not one by one."""
    frames = [
        fg.commit_frame(seq, ALICE, [fg.like_op(fg.tid(seq), fg.post_uri(BOB, "3kx"))])
        for seq in range(1, 21)
    ]
    batches: list[BatchResult] = []
    cfg = settings(batch_max_seconds=2.0, batch_min_seconds=min_seconds)
    runner = Ingest(
        TrickleSource(frames, 0.01),
        open_db(db_path),
        cfg,
        LinkScorer(),
        on_batch=lambda r, s: batches.append(r),
    )
    asyncio.run(runner.run())
    assert sum(b.events for b in batches) == 20 and runner.stats.cursor == 20
    if at_most_batches is not None:
        assert len(batches) <= at_most_batches
    else:
        assert len(batches) > 3  # at once: the writer is idle between frames


def test_a_reconnect_and_a_restart_resume_from_the_persisted_cursor(db_path: Path) -> None:
    frames = story()

    async def main() -> RelayServer:
        async with RelayServer(frames, "abnormal_close", after=4) as server:
            cfg = settings(batch_max_seconds=0.05)
            runner = Ingest(RelaySource(server.url, cfg), open_db(db_path), cfg, LinkScorer())
            task = asyncio.create_task(runner.run())
            while runner.stats.cursor != 10:
                await asyncio.sleep(0.01)
            runner.stop()
            await task
            # a new process: a fresh source and writer on the same database
            again = Ingest(RelaySource(server.url, cfg), open_db(db_path), cfg, LinkScorer())
            task = asyncio.create_task(again.run())
            while server.connections < 3:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
            again.stop()
            await task
            assert again.stats.events == 0
            return server

    server = asyncio.run(main())
    assert server.cursors == [None, 4, 10]
    db = open_db(db_path)
    assert db.execute("SELECT cursor FROM sub_state").fetchone()[0] == 10
    assert db.execute("SELECT like_count, repost_count FROM posts").fetchall() == [(1, 1)]


def test_cancelling_commits_what_was_read(db_path: Path) -> None:
    """Cancelled while a slow batch is being written and the rest waits behind it: all of it lands."""

    async def main() -> Ingest:
        async with RelayServer(story()) as server:
            cfg = settings(batch_max_seconds=60, receive_timeout_seconds=30)
            runner = Ingest(RelaySource(server.url, cfg), open_db(db_path), cfg, SlowScorer())
            task = asyncio.create_task(runner.run())
            while runner.source.cursor != 10:
                await asyncio.sleep(0.01)
            assert runner.stats.cursor != 10  # the first batch is still being scored
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return runner

    runner = asyncio.run(main())
    assert runner.stats.cursor == 10
    db = open_db(db_path)
    assert db.execute("SELECT cursor FROM sub_state").fetchone()[0] == 10
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 1


class BrokenScorer:
    topics = ("github", "ml")

    def score(self, records: list[dict]) -> list[dict[str, float]]:
        raise RuntimeError("the model fell over")


def test_a_failing_scorer_is_reported_and_the_link_rule_keeps_the_batch(
    tmp_path: Path, db_path: Path
) -> None:
    capture = write_capture(tmp_path / "story.bin.zst", story())
    cfg = settings()
    db = open_db(db_path)
    runner = Ingest(CaptureSource(capture, cfg), db, cfg, BrokenScorer())
    asyncio.run(runner.run())
    assert runner.stats.scorer_failures == 1
    assert db.execute("SELECT count(*) FROM posts").fetchone()[0] == 1


class SlowScorer(LinkScorer):
    def score(self, records: list[dict]) -> list[dict[str, float]]:
        time.sleep(0.3)
        return super().score(records)


def test_a_slow_scorer_does_not_stop_the_reader(db_path: Path) -> None:
    frames = story()[:2] + [
        fg.commit_frame(seq, ALICE, [fg.like_op(fg.tid(seq), fg.post_uri(BOB, "3kx"))])
        for seq in range(11, 40)
    ]

    async def main() -> tuple[int, int]:
        async with RelayServer(frames) as server:
            cfg = settings(batch_max_events=2, batch_max_seconds=0.01)
            runner = Ingest(RelaySource(server.url, cfg), open_db(db_path), cfg, SlowScorer())
            task = asyncio.create_task(runner.run())
            while runner.stats.batches == 0:
                await asyncio.sleep(0.01)
            read_during_first_commit = runner.source.stats.frames
            runner.stop()
            await task
            return read_during_first_commit, runner.stats.events

    read, committed = asyncio.run(main())
    assert read == len(frames)  # everything was read while the first batch was still being scored
    assert committed == len(frames)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ({"github": 1.0, "ml": 0.0}, ["github"]),
        ({"github": 0.5, "ml": 0.49}, ["github"]),
        ({"github": 0.2, "ml": 0.9}, ["ml"]),
        ({"github": 0.0, "ml": 0.0}, []),
        ({"other": 0.99}, []),
    ],
)
def test_kept_topics_reach_their_threshold(scores: dict[str, float], expected: list[str]) -> None:
    assert kept_topics(scores, {"github": 0.5, "ml": 0.5}) == expected


def test_link_scorer_scores_github_links_only() -> None:
    scorer = LinkScorer()
    records = [fg.post_record("see github.com/a/b"), fg.post_record("nothing here")]
    assert scorer.score(records) == [{"github": 1.0, "ml": 0.0}, {"github": 0.0, "ml": 0.0}]


@pytest.mark.parametrize(("pace", "at_least", "at_most"), [("recorded", 0.55, 5.0), ("max", 0.0, 0.5)])
def test_capture_replays_at_the_recorded_pace_or_as_fast_as_it_can(
    tmp_path: Path, db_path: Path, pace: str, at_least: float, at_most: float
) -> None:
    times = ["2026-07-04T14:38:00.000Z", "2026-07-04T14:38:00.300Z", "2026-07-04T14:38:00.600Z"]
    frames = [
        fg.commit_frame(i + 1, ALICE, [fg.post_op(fg.tid(i + 1), "hi")], time=t) for i, t in enumerate(times)
    ]
    capture = write_capture(tmp_path / "paced.bin.zst", frames)
    cfg = settings()
    runner = Ingest(CaptureSource(capture, cfg, pace=pace), open_db(db_path), cfg, LinkScorer())
    started = time.monotonic()
    asyncio.run(runner.run())
    assert at_least <= time.monotonic() - started <= at_most
    assert runner.stats.cursor == 3


def test_ingest_prunes_posts_past_retention_when_it_starts(tmp_path: Path) -> None:
    """A post stored longer ago than FEEDGEN_RETENTION_DAYS is gone after the next ingest run."""
    db_path = tmp_path / "retention.db"
    db = open_db(db_path)
    old = PostUpserted(1, "did:plc:old0000000000000000000", "3kold", "bafyold", {"text": "github.com/a/b"})
    StoreWriter(db, "seed").apply([old], {old.uri: KeptPost({"github": 1.0}, [], ("github",))})
    db.execute("UPDATE posts SET indexed_ts = indexed_ts - 3 * 86400")
    capture = tmp_path / "one.zst"
    with CaptureWriter(capture) as writer:
        writer.write(fg.commit_frame(5, "did:plc:new0000000000000000000", [fg.post_op("3knew", "hi")]))
    settings = Settings(retention_days=2, batch_max_seconds=0.05, _env_file=None)
    asyncio.run(Ingest(CaptureSource(capture, settings), open_db(db_path), settings).run())
    assert open_db(db_path)["posts"].count == 0


def ingest_on_a_full_disk(tmp_path: Path) -> tuple[sqlite_utils.Database, Ingest]:
    """40 posts to ingest into a database capped at its current size (a page cap stands in for the disk)."""
    capture = tmp_path / "links.zst"
    with CaptureWriter(capture) as writer:
        for seq in range(1, 41):
            text = f"release notes github.com/org/repo{seq}"
            writer.write(
                fg.commit_frame(seq, "did:plc:full0000000000000000000", [fg.post_op(f"3k{seq:03d}", text)])
            )
    db = open_db(tmp_path / "full.db")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    settings = Settings(batch_max_events=5, batch_max_seconds=0.05, _env_file=None)
    return db, Ingest(CaptureSource(capture, settings), db, settings, LinkScorer())


def free_space_after_failures(db: sqlite_utils.Database, ingest: Ingest, failures: int) -> threading.Thread:
    """Lift the page cap once ingest has retried `failures` times, and note when (not on a timer from
    the start: ingest's start-up, the SDK import included, takes a second or more on a loaded machine,
    and a cap lifted before the first write tests nothing)."""
    freed_at: list[float] = []

    def watch() -> None:
        deadline = time.monotonic() + 120
        while ingest.stats.disk_full_retries < failures and time.monotonic() < deadline:
            time.sleep(0.01)
        db.execute("PRAGMA max_page_count = 1000000")
        freed_at.append(time.monotonic())

    thread = threading.Thread(target=watch, daemon=True)
    thread.freed_at = freed_at  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_full_disk_pauses_ingest_and_loses_nothing(tmp_path: Path) -> None:
    """SQLITE_FULL makes ingest retry the batch until space frees; nothing is lost."""
    db, ingest = ingest_on_a_full_disk(tmp_path)
    freed = free_space_after_failures(db, ingest, 2)
    stats = asyncio.run(ingest.run())
    freed.join()
    assert stats.disk_full_retries >= 2
    assert db["posts"].count == 40 and StoreWriter(db, ingest.source.service).cursor() == 40


@pytest.mark.slow
def test_a_full_disk_is_retried_within_seconds_of_space_coming_back(tmp_path: Path) -> None:
    """However long the disk was full, ingest is writing again within 5 s of space being freed (freed
    after the 5th failure, 7.5 s in, when a delay doubling from 0.5 s without a low cap would be 8 s)."""
    db, ingest = ingest_on_a_full_disk(tmp_path)
    freed = free_space_after_failures(db, ingest, 5)
    stats = asyncio.run(ingest.run())
    done = time.monotonic()
    freed.join()
    assert stats.disk_full_retries >= 5 and db["posts"].count == 40
    assert done - freed.freed_at[0] <= 5.0  # type: ignore[attr-defined]
