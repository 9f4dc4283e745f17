"""Replay a capture file of recorded relay frames, as fast as possible or at the recorded pace.

The cursor is the frames' seq, so a replay killed half-way resumes after the last committed frame:
frames up to and including the one carrying `cursor` are skipped (frames without a readable seq
before that point too, so a restart counts nothing twice). `pace="recorded"` sleeps between frames
by the difference of their `time` fields, which is how a classifier is backtested at live speed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import libipld

from firehose.capture import iter_capture
from firehose.decode.relay import StreamControl, decode_frame
from firehose.events import Event
from firehose.sources.base import Source, SourceError, frame_cursor

if TYPE_CHECKING:
    from firehose.settings import Settings

log = logging.getLogger(__name__)

YIELD_EVERY = 64  # frames between giving the event loop a turn (the batcher runs there)


def frame_time(frame: bytes) -> float | None:
    """Epoch seconds of a frame's body `time` (None when it has none); only the recorded pace needs it."""
    try:
        parts = libipld.decode_dag_cbor_multi(frame)
        value = parts[1].get("time") if len(parts) == 2 and isinstance(parts[1], dict) else None
        return (
            datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            if isinstance(value, str)
            else None
        )
    except (ValueError, TypeError, AttributeError, RecursionError, OverflowError):
        return None


class CaptureSource(Source):
    """Frames of a capture file (see firehose.capture) decoded exactly as the relay source decodes them."""

    kind = "capture"

    def __init__(
        self, path: str | Path, settings: Settings, *, pace: str = "max", cursor: int | None = None
    ) -> None:
        self.path = Path(path).resolve()
        super().__init__(f"capture:{self.path}", cursor)
        self.pace = pace
        self.max_frame_bytes = settings.max_frame_bytes

    def count_frames(self) -> int:
        """Read the file once to count its frames (cheap next to decoding them), for progress bars."""
        return sum(1 for _ in self._frames())

    def _frames(self) -> Iterator[bytes]:
        try:
            yield from iter_capture(self.path)
        except FileNotFoundError as error:
            raise SourceError(f"no capture file at {self.path}") from error

    async def stream(self) -> AsyncIterator[list[Event]]:
        stats = self.stats
        resume_after = self.cursor
        started = resume_after is None
        pace_origin: tuple[float, float] | None = None  # (frame time, wall time) of the first paced frame
        for n, frame in enumerate(self._frames()):
            if n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
            stats.frames += 1
            stats.bytes += len(frame)
            events = decode_frame(frame, max_frame_bytes=self.max_frame_bytes)
            if type(events[0]) is StreamControl:
                stats.controls[f"{events[0].kind}:{events[0].name}"] += 1  # type: ignore[union-attr]
                continue
            seq = frame_cursor(events)  # type: ignore[arg-type]
            if not started:
                if seq is not None and seq > resume_after:  # type: ignore[operator]
                    started = True
                else:
                    stats.duplicates += 1
                    continue
            if self.pace == "recorded":
                pace_origin = await self._wait_for(frame, pace_origin)
            if seq is not None:
                self.cursor = seq
            yield events  # type: ignore[misc]
        log.info("capture %s: replayed %d frames", self.path, stats.frames)

    @staticmethod
    async def _wait_for(frame: bytes, origin: tuple[float, float] | None) -> tuple[float, float] | None:
        at = frame_time(frame)
        if at is None:
            return origin
        if origin is None:
            return at, time.monotonic()
        delay = (at - origin[0]) - (time.monotonic() - origin[1])
        if delay > 0:
            await asyncio.sleep(delay)
        return origin
