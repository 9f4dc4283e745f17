"""Helpers shared by the source tests: read a real source's stream until a condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from firehose.events import Event
from firehose.sources.base import Source


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
