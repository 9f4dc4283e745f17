"""The item table every snapshot shares: each post's item stored once, found by id and uri, freed when
no snapshot holds it, and pages made of it byte for byte what encoding the uris gives."""

from __future__ import annotations

import gc

import numpy as np
import orjson
import pytest

from feedserver.ranking import COMPACT_MIN_BYTES, ItemTable, Snapshot

AUTHOR = "did:plc:author0000000000000000"


def uri(i: int, author: str = AUTHOR) -> str:
    return f"at://{author}/app.bsky.feed.post/3k{i:08d}"


def snapshot(table: ItemTable, ids: list[int], uris: list[str], authors: list[str] | None = None) -> Snapshot:
    scores = np.linspace(1.0, 0.0, len(ids))
    authors = authors or [AUTHOR] * len(ids)
    return Snapshot.ranked(
        "s", "github", 1.0, max(ids, default=0), np.array(ids), scores, uris, authors, table=table
    )


@pytest.mark.parametrize(
    "uris",
    [
        [uri(i) for i in range(5)],
        ['at://did:plc:q/app.bsky.feed.post/a"b', "at://did:plc:q/app.bsky.feed.post/\\x"],  # escapes
        ["at://did:plc:é/app.bsky.feed.post/ü", uri(1)],  # not ascii
    ],
)
def test_items_are_what_encoding_the_uris_gives(uris: list[str]) -> None:
    table = ItemTable()
    snap = snapshot(table, list(range(1, len(uris) + 1)), uris)
    assert snap.uris == uris
    assert b"[" + b",".join(snap.items(range(len(uris)))) + b"]" == orjson.dumps([{"post": u} for u in uris])
    assert [snap.id_of(u) for u in uris] == list(range(1, len(uris) + 1))
    assert snap.id_of("at://did:plc:q/app.bsky.feed.post/none") is None


def test_snapshots_share_entries_and_free_them_when_none_holds_them() -> None:
    table = ItemTable()
    first = snapshot(table, [1, 2, 3], [uri(1), uri(2), uri(3)])
    second = snapshot(table, [3, 4], [uri(3), uri(4)])
    assert len(table) == 4 and second.slots[0] == first.slots[2]  # post 3 stored once
    del first
    gc.collect()
    assert len(table) == 2 and second.uris == [uri(3), uri(4)]
    third = snapshot(table, [5, 6], [uri(5), uri(6)])  # freed slots are reused
    assert len(table) == 4 and third.uris == [uri(5), uri(6)] and second.uris == [uri(3), uri(4)]


def test_a_reused_post_id_gets_its_own_entry() -> None:
    # SQLite reuses the id of a deleted newest row: the same id, another post.
    table = ItemTable()
    old = snapshot(table, [7], [uri(7)])
    new = snapshot(
        table, [7], [uri(8, "did:plc:someoneelse0000000000000")], ["did:plc:someoneelse0000000000000"]
    )
    assert old.uris == [uri(7)] and new.uris == [uri(8, "did:plc:someoneelse0000000000000")]
    assert new.author(0) == "did:plc:someoneelse0000000000000" and old.author(0) == AUTHOR
    again = snapshot(table, [7], [uri(8, "did:plc:someoneelse0000000000000")])
    assert again.slots[0] == new.slots[0]


def test_the_buffer_is_compacted_once_freed_bytes_outweigh_live_ones() -> None:
    table = ItemTable()
    count = COMPACT_MIN_BYTES // 40  # items of about 50 bytes: well past the minimum once freed
    keep = snapshot(table, [0], [uri(0)])
    gone = snapshot(table, list(range(1, count + 1)), [uri(i) for i in range(1, count + 1)])
    before = table.nbytes
    del gone
    gc.collect()
    assert table.dead_bytes == 0 and table.nbytes < before - COMPACT_MIN_BYTES  # compacted
    assert keep.uris == [uri(0)] and len(table) == 1


def test_a_snapshot_dropped_while_the_table_is_busy_is_given_back_after() -> None:
    # A finalizer may run inside intern (the garbage collector) or beside it: it never waits.
    table = ItemTable()
    keep = snapshot(table, [1], [uri(1)])
    gone = snapshot(table, [2, 3], [uri(2), uri(3)])
    with table._lock:
        del gone
        gc.collect()
        assert len(table) == 3  # not yet
    snapshot(table, [1], [uri(1)])  # the next intern gives the slots back first
    assert len(table) == 1 and keep.uris == [uri(1)]
