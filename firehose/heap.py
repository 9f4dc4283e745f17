"""Hand freed heap memory back to the operating system, so a process's RSS follows what it holds.

glibc's malloc keeps the memory a process freed for its next allocations, in one arena per thread
that allocated it. A server that builds a snapshot in a worker thread now and then (tens of MB of
rows, freed a moment later) or an ingest that buffered a backlog during a fault keeps that peak as
RSS for good, and RSS then reads as a leak. `malloc_trim(0)` returns the free pages of every arena
(madvise), at a cost of about a millisecond per 100 MB of heap. Elsewhere (musl, macOS) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections.abc import Callable

TRIM_EVERY_SECONDS = 30.0


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_TRIM = _malloc_trim()


def release_free_memory() -> bool:
    """Give the heap's free pages back now (ctypes drops the GIL for the call); False if unsupported."""
    return bool(_TRIM is not None and _TRIM(0) >= 0)


class HeapTrimmer:
    """`maybe()` releases free memory at most every `every_seconds`: call it after work that freed much."""

    def __init__(
        self, every_seconds: float = TRIM_EVERY_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every_seconds = every_seconds
        self.clock = clock
        self.trims = 0
        self._next = 0.0
        self._lock = threading.Lock()

    def maybe(self) -> bool:
        """Trim if the last trim is `every_seconds` old (one caller at a time); True when it trimmed."""
        now = self.clock()
        with self._lock:
            if now < self._next:
                return False
            self._next = now + self.every_seconds
        if not release_free_memory():
            return False
        self.trims += 1
        return True
