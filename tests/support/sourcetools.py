"""Helpers shared by the source tests: fast-failing settings, and reading a real source's stream until a
condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from firehose.events import Event
from firehose.settings import Settings, load_settings
from firehose.sources.base import Source

MAX_FRAME = 64 * 1024


async def collect(source: Source, done: Callable[[list[Event]], bool], timeout: float = 10) -> list[Event]:
    """Events from `source.stream()` until `done(events)` is true; TimeoutError after `timeout` seconds."""
    events: list[Event] = []

    async def run() -> None:
        async for batch in source.stream():
            events.extend(batch)
            if done(events):
                return

    await asyncio.wait_for(run(), timeout)
    return events


def fast_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "receive_timeout_seconds": 0.5,
        "backoff_initial_seconds": 0.01,
        "backoff_max_seconds": 0.05,
        "max_frame_bytes": MAX_FRAME,
    }
    values.update(overrides)
    return load_settings(**values)


def seqs(events: list[Event]) -> list[int]:
    """The distinct cursors in arrival order (one frame can hold several events)."""
    out: list[int] = []
    for event in events:
        if event.cursor is not None and (not out or out[-1] != event.cursor):
            out.append(event.cursor)
    return out
