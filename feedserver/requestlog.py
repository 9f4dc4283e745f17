"""One log line per request, written in bursts.

A `logging` call per request costs about as much as answering a cached getFeedSkeleton, so lines are
collected and handed to this module's logger (`feedserver.requestlog`) as one record at most every half second
(and at shutdown). Levels and handlers still come from logging's configuration.
"""

from __future__ import annotations

import asyncio
import logging

FLUSH_SECONDS = 0.5
log = logging.getLogger(__name__)


class RequestLog:
    def __init__(self, logger: logging.Logger = log, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.logger = logger
        self.flush_seconds = flush_seconds
        self._lines: list[str] = []
        self._timer: asyncio.TimerHandle | None = None

    def add(self, line: str) -> None:
        """Queue one request's line; the first line of a burst schedules the flush."""
        if not self.logger.isEnabledFor(logging.INFO):
            return
        self._lines.append(line)
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a synchronous caller): write now
                self.flush()
                return
            self._timer = loop.call_later(self.flush_seconds, self.flush)

    def flush(self) -> None:
        """Write the queued lines as one record."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        lines, self._lines = self._lines, []
        if lines:
            self.logger.info("\n".join(lines))
