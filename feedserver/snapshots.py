"""The snapshots a server keeps for paging readers, within one byte budget.

Every kept snapshot and every viewer's view of one counts its own arrays (`Snapshot.own_bytes`), and
each item table they share (`ranking.ItemTable`, one per server: every item's encoded bytes, id and
author, stored once) counts once, whole, dead bytes included (`ItemTable.nbytes`): `bytes` is what
the kept snapshots hold, not a sum of what each would hold alone. Past FEEDGEN_SNAPSHOT_BUDGET_MB the
least recently used go first (views before snapshots; a snapshot takes its views with it), and so
does anything unused for FEEDGEN_SNAPSHOT_TTL_SECONDS (idle time, not age: a snapshot rebuilt for an
old cursor's frame is as old as the frame, and must still serve the next pages). A table entry no
snapshot holds any more is freed at once (`ItemTable.release`, the snapshot's finalizer). Each feed's
current snapshot is never dropped: the budget bounds everything else. A reader whose snapshot was
dropped is served by the cursor fallback (`FeedService.page`): the same frame (instant + max post
id) rebuilt once, found here by `frame()` by every request that carries a cursor of that frame.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from feedserver.ranking import ItemTable, Snapshot

MAX_KEPT_SNAPSHOTS = 512
MAX_VIEWS = 128

ViewKey = tuple[str, str, int]  # (snapshot id, viewer, feedback version)


class SnapshotCache:
    """Snapshots by id and by frame, and viewers' views, least recently used first, within `budget_bytes`."""

    def __init__(self, budget_bytes: int, ttl_seconds: float, clock: Callable[[], float]) -> None:
        self.budget_bytes = budget_bytes
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._own_bytes = 0  # the kept snapshots' and views' own arrays
        self._tables: dict[int, tuple[ItemTable, int]] = {}  # id -> (table, kept snapshots using it)
        self.evicted = 0  # snapshots dropped for the budget or the count cap (not age)
        self._kept: OrderedDict[str, Snapshot] = OrderedDict()  # least recently used first
        self._used: dict[str, float] = {}
        self._frames: dict[tuple[str, int, int], str] = {}
        self._views: OrderedDict[ViewKey, Snapshot] = OrderedDict()
        self._current: dict[str, str] = {}  # feed -> its current snapshot's id

    def __len__(self) -> int:
        return len(self._kept)

    @property
    def bytes(self) -> int:
        """What the kept snapshots and views hold: their own arrays and, once each, the tables they share."""
        return self._own_bytes + sum(table.nbytes for table, _ in self._tables.values())

    def put(self, snapshot: Snapshot, *, current: bool = False) -> None:
        if snapshot.snapshot_id not in self._kept:
            self._kept[snapshot.snapshot_id] = snapshot
            self._frames[snapshot.frame] = snapshot.snapshot_id
            self._own_bytes += snapshot.own_bytes
            table, users = self._tables.get(id(snapshot.table), (snapshot.table, 0))
            self._tables[id(table)] = (table, users + 1)
        self._kept.move_to_end(snapshot.snapshot_id)
        self._used[snapshot.snapshot_id] = self.clock()
        if current:
            self._current[snapshot.feed] = snapshot.snapshot_id
        self._trim()

    def get(self, snapshot_id: str) -> Snapshot | None:
        """The kept snapshot (marked recently used), None if dropped or unused past the TTL."""
        snapshot = self._kept.get(snapshot_id)
        if snapshot is None:
            return None
        now = self.clock()
        if self._used[snapshot_id] < now - self.ttl_seconds:
            return None  # a reader back after the TTL takes the cursor fallback, as documented
        self._kept.move_to_end(snapshot_id)
        self._used[snapshot_id] = now
        return snapshot

    def frame(self, frame: tuple[str, int, int]) -> Snapshot | None:
        """A kept snapshot of this frame (feed, instant in ms, max post id), whatever its id."""
        snapshot_id = self._frames.get(frame)
        return self.get(snapshot_id) if snapshot_id else None

    def view(self, key: ViewKey) -> Snapshot | None:
        view = self._views.get(key)
        if view is not None:
            self._views.move_to_end(key)
        return view

    def put_view(self, key: ViewKey, view: Snapshot) -> None:
        if key in self._views or key[0] not in self._kept:
            return  # its snapshot is gone meanwhile: not kept (it would hold the buffer unaccounted)
        self._views[key] = view
        self._own_bytes += view.own_bytes
        while len(self._views) > MAX_VIEWS:
            self._drop_view(next(iter(self._views)))
        self._trim()

    def _drop_view(self, key: ViewKey) -> None:
        self._own_bytes -= self._views.pop(key).own_bytes

    def _drop(self, snapshot_id: str) -> None:
        snapshot = self._kept.pop(snapshot_id)
        del self._used[snapshot_id]
        self._own_bytes -= snapshot.own_bytes
        table, users = self._tables[id(snapshot.table)]
        if users > 1:
            self._tables[id(table)] = (table, users - 1)
        else:
            del self._tables[id(table)]
        if self._frames.get(snapshot.frame) == snapshot_id:
            del self._frames[snapshot.frame]
        for key in [k for k in self._views if k[0] == snapshot_id]:
            self._drop_view(key)

    def _trim(self) -> None:
        horizon = self.clock() - self.ttl_seconds
        current = set(self._current.values())
        for snapshot_id in list(self._kept):
            if self._used[snapshot_id] >= horizon:
                break
            if snapshot_id not in current:
                self._drop(snapshot_id)
        while self._views and self.bytes > self.budget_bytes:
            self._drop_view(next(iter(self._views)))
        for snapshot_id in list(self._kept):
            if self.bytes <= self.budget_bytes and len(self._kept) <= MAX_KEPT_SNAPSHOTS:
                break
            if snapshot_id not in current:
                self._drop(snapshot_id)
                self.evicted += 1
