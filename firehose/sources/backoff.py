"""Capped, jittered exponential backoff that forgets past failures after a healthy connection.

Why jitter: when a relay restarts it drops every consumer at once, and they must not all come
back in the same instant. Why the reset: a connection that stayed up for `healthy_after` seconds
proves the server is fine, so the next drop should reconnect quickly again.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable


class Backoff:
    """Delays `initial * 2**n` capped at `maximum`, drawn from [d/2, d] ("equal jitter")."""

    def __init__(
        self,
        initial: float,
        maximum: float,
        healthy_after: float,
        *,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial = initial
        self.maximum = max(maximum, initial)
        self.healthy_after = healthy_after
        self.failures = 0
        self._rng = rng
        self._clock = clock
        self._connected_at: float | None = None

    @classmethod
    def from_settings(cls, settings: object) -> Backoff:
        return cls(
            settings.backoff_initial_seconds,  # type: ignore[attr-defined]
            settings.backoff_max_seconds,  # type: ignore[attr-defined]
            settings.healthy_after_seconds,  # type: ignore[attr-defined]
        )

    def connected(self, at: float | None = None) -> None:
        """A connection is up since `at` (default now); a long enough life resets the count."""
        self._connected_at = self._clock() if at is None else at

    def next_delay(self) -> float:
        """The connection failed or dropped: how long to wait before the next attempt."""
        if self._connected_at is not None and self._clock() - self._connected_at >= self.healthy_after:
            self.failures = 0
        self._connected_at = None
        ceiling = min(self.maximum, self.initial * 2 ** min(self.failures, 62))
        self.failures += 1
        return ceiling / 2 + self._rng() * ceiling / 2

    async def wait(self) -> float:
        """Sleep for `next_delay()`; returns the delay slept."""
        delay = self.next_delay()
        await asyncio.sleep(delay)
        return delay
