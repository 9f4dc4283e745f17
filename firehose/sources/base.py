"""The one interface every source implements, and the factory behind `--source`.

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
from pathlib import Path
from typing import TYPE_CHECKING

from firehose.events import Event

if TYPE_CHECKING:
    from firehose.settings import Settings

PACES = ("max", "recorded")


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


def build_source(
    spec: str,
    settings: Settings,
    *,
    endpoint: str | None = None,
    pace: str = "max",
) -> Source:
    """`relay`, `jetstream` or `capture:FILE` -> a Source; raises SourceError for anything else."""
    if spec == "relay":
        from firehose.sources.relay import RelaySource

        return RelaySource(endpoint or settings.subscription_endpoint, settings)
    if spec == "jetstream":
        from firehose.sources.jetstream import JetstreamSource

        return JetstreamSource(endpoint or settings.jetstream_endpoint, settings)
    if spec.startswith("capture:"):
        from firehose.sources.capture import CaptureSource

        path = Path(spec.removeprefix("capture:"))
        if not str(path) or not path.is_file():
            raise SourceError(f"no capture file at {path!s} (record one with `gitfeed capture --out FILE`)")
        if pace not in PACES:
            raise SourceError(f"pace must be one of {', '.join(PACES)}, not {pace!r}")
        return CaptureSource(path, settings, pace=pace)
    raise SourceError(f"unknown source {spec!r}: use relay, jetstream or capture:FILE")
