"""Request log lines are written in bursts, one record per flush, and never lost at shutdown."""

from __future__ import annotations

import asyncio
import logging

import pytest

from feedserver.requestlog import RequestLog


def test_lines_of_a_burst_become_one_record_after_the_timer(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.requests")
    log = RequestLog(logging.getLogger("test.requests"), flush_seconds=0.05)

    async def burst() -> list[str]:
        for n in range(3):
            log.add(f"route=x n={n}")
        before = [r.getMessage() for r in caplog.records]
        await asyncio.sleep(0.2)
        return before

    assert asyncio.run(burst()) == []
    assert [r.getMessage() for r in caplog.records] == ["route=x n=0\nroute=x n=1\nroute=x n=2"]


def test_flush_writes_what_is_queued_and_a_disabled_logger_queues_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="test.quiet")
    quiet = RequestLog(logging.getLogger("test.quiet"))
    quiet.add("dropped")
    quiet.flush()
    assert caplog.records == []
    caplog.set_level(logging.INFO, logger="test.sync")
    RequestLog(logging.getLogger("test.sync")).add("no loop: written at once")
    assert [r.getMessage() for r in caplog.records] == ["no loop: written at once"]
