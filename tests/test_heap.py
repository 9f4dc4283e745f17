"""Freed heap memory goes back to the operating system (`firehose.heap`), so RSS follows what is held."""

from __future__ import annotations

import sys
import threading

import pytest

from firehose import heap
from firehose.heap import HeapTrimmer, release_free_memory


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux") or heap._TRIM is None, reason="glibc only")
def test_memory_freed_between_kept_blocks_is_returned() -> None:
    kept: list[bytearray] = []

    def fragment() -> None:  # in a worker thread, as a snapshot build is: its own malloc arena
        freed = []
        for _ in range(1500):
            freed.append(bytearray(64 * 1024))  # 96 MiB in holes the kept blocks pin in place
            kept.append(bytearray(1024))
        for block in freed:
            block[0] = 1
        del freed

    worker = threading.Thread(target=fragment)
    worker.start()
    worker.join()
    before = rss_mib()
    assert release_free_memory()
    after = rss_mib()
    assert before - after > 48, (before, after)
    assert len(kept) == 1500


def test_the_trimmer_trims_at_most_once_per_period(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(heap, "release_free_memory", lambda: calls.append(1) or True)
    clock = [100.0]
    trimmer = HeapTrimmer(every_seconds=30.0, clock=lambda: clock[0])
    assert trimmer.maybe()
    assert not trimmer.maybe()
    clock[0] += 29.9
    assert not trimmer.maybe()
    clock[0] += 0.2
    assert trimmer.maybe()
    assert len(calls) == trimmer.trims == 2


def test_a_snapshot_build_gives_its_freed_rows_back(db_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from feedserver.feeds import FEEDS
    from feedserver.service import FeedService
    from tests.support.seed import insert_posts, make_db, many_posts, server_settings

    calls = []
    monkeypatch.setattr(heap, "release_free_memory", lambda: calls.append(1) or True)
    db = make_db(db_path)
    insert_posts(db, many_posts(20))
    db.conn.close()
    service = FeedService(server_settings(db_path))
    try:
        service.build(FEEDS["github"])
        service.build(FEEDS["all"])  # within the period: no second trim
        assert len(calls) == 1
    finally:
        service.close()
