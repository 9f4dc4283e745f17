"""The one interface every source implements, and what every source does alike (the cursor, dedup by seq).

A source is an async iterator of lists of events: one list per frame (or message), every event of
a list carrying the same cursor. It knows nothing downstream: the ingest loop pulls, and by
pulling slowly it applies backpressure all the way to the socket. The source keeps `cursor`, the
position of the last frame it handed out; set it before `stream()` (from the store) and every
connection, first or re-, resumes from there.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from firehose.events import Event


class SourceError(ValueError):
    """A source that cannot be built or cannot go on (bad spec, unreadable file, fatal server answer)."""


@dataclass
class SourceStats:
    """What a source saw, for logs, `stats` and metrics."""

    frames: int = 0  # frames or messages received
    bytes: int = 0
    duplicates: int = 0  # redelivered frames at or below the cursor, dropped
    refused: int = 0  # frames the websocket refused (over its size limit): counted, never decoded
    connects: int = 0
    stalls: int = 0  # receive timeouts that forced a reconnect
    disconnects: int = 0
    controls: Counter[str] = field(default_factory=Counter)  # error frames and #info by name
    last_frame_monotonic: float = 0.0


class Source(abc.ABC):
    """Base of every source: `service` names the stream (the cursor key), `cursor` is where it stands."""

    kind: str = ""

    def __init__(self, service: str, cursor: int | None = None) -> None:
        self.service = service
        self.cursor = cursor
        self.stats = SourceStats()

    @abc.abstractmethod
    def stream(self) -> AsyncIterator[list[Event]]:
        """Yield the events of each frame, resuming after `self.cursor`; ends only for finite sources."""

    def describe(self) -> str:
        return f"{self.kind} {self.service}"

    def accept(self, seq: int | None) -> bool:
        """Whether a frame with this seq is new: it moves the cursor. A redelivered frame (at or below
        the cursor: a server replaying inclusively, or after a reconnect) is counted and dropped."""
        if seq is None:
            return True
        if self.cursor is not None and seq <= self.cursor:
            self.stats.duplicates += 1
            return False
        self.cursor = seq
        return True


def frame_cursor(events: list[Event]) -> int | None:
    """The frame's seq: every event of a frame carries it (a SkippedFrame of an unreadable frame has None)."""
    for event in events:
        if event.cursor is not None:
            return event.cursor
    return None
