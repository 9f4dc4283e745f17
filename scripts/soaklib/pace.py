"""The relay's production schedule: how many events exist at time t, and when event n appeared.

Why a pure schedule rather than a clock in the relay: the relay, the harness and the audit all need
the same answer (the relay to know what it may send, the harness to measure lag in seconds, a
restarted relay to carry on where the old one was), and a function of (t0, t) gives it to all of
them without talking to each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Pace:
    """`rate` events/s, times `burst_factor` for `burst_seconds` starting `burst_at` s into each
    `burst_every`-second period (burst_every 0: no bursts). rate <= 0: everything at once.
    `limit` caps the number of events (None: unbounded)."""

    rate: float = 2000.0
    burst_factor: float = 10.0
    burst_seconds: float = 10.0
    burst_every: float = 60.0
    burst_at: float = 20.0
    limit: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def _bursting(self) -> bool:
        return self.burst_every > 0 and self.burst_seconds > 0 and self.burst_factor != 1

    def rate_at(self, t: float) -> float:
        if self.unlimited:
            return math.inf
        if self._bursting():
            r = t % self.burst_every
            if self.burst_at <= r < self.burst_at + self.burst_seconds:
                return self.rate * self.burst_factor
        return self.rate

    def produced(self, t: float) -> float:
        """Events produced by t seconds after t0 (a real number; `head` floors and caps it)."""
        if t <= 0:
            return 0.0
        if self.unlimited:
            return math.inf
        total = self.rate * t
        if self._bursting():
            period, extra = self.burst_every, self.rate * (self.burst_factor - 1)
            k, r = divmod(t, period)
            per_period = extra * min(self.burst_seconds, max(0.0, period - self.burst_at))
            total += k * per_period + extra * min(self.burst_seconds, max(0.0, r - self.burst_at))
        return total

    def head(self, t: float) -> int:
        """The newest seq produced by time t (seqs start at 1)."""
        if self.unlimited:
            return self.limit if self.limit is not None else 2**62
        n = int(self.produced(t))
        return n if self.limit is None else min(n, self.limit)

    def time_of(self, seq: int) -> float:
        """Seconds after t0 at which `seq` was produced (the inverse of `head`)."""
        if self.unlimited or seq <= 0:
            return 0.0
        lo, hi = 0.0, seq / self.rate + 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            if self.produced(mid) >= seq:
                hi = mid
            else:
                lo = mid
        return hi

    def bursts(self, duration: float) -> list[tuple[float, float]]:
        """(start, end) of every burst within [0, duration)."""
        if self.unlimited or not self._bursting():
            return []
        out, start = [], self.burst_at
        while start < duration:
            out.append((start, min(duration, start + self.burst_seconds)))
            start += self.burst_every
        return out

    def args(self) -> list[str]:
        """Command-line flags that rebuild this pace in relay.py."""
        flags = [
            f"--rate={self.rate}",
            f"--burst-factor={self.burst_factor}",
            f"--burst-seconds={self.burst_seconds}",
            f"--burst-every={self.burst_every}",
            f"--burst-at={self.burst_at}",
        ]
        return flags + ([f"--limit={self.limit}"] if self.limit is not None else [])
