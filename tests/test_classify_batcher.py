"""MicroBatcher: a batch goes when full or when its first item has waited max_wait_ms."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest

from firehose.classify.batcher import MicroBatcher, batched


def double(items: Sequence[int]) -> list[int]:
    return [2 * item for item in items]


def test_batched_splits_in_order() -> None:
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError):
        list(batched([1], 0))


def test_max_size_caps_every_batch() -> None:
    async def main() -> tuple[list[int], list[int]]:
        async with MicroBatcher(double, max_size=4, max_wait_ms=50) as batcher:
            results = await batcher.submit_many(range(10))
        return results, batcher.batch_sizes

    results, sizes = asyncio.run(main())
    assert results == [2 * i for i in range(10)]
    assert sizes == [4, 4, 2]


def test_full_batch_does_not_wait_for_the_deadline() -> None:
    async def main() -> float:
        async with MicroBatcher(double, max_size=8, max_wait_ms=5000) as batcher:
            started = time.monotonic()
            await batcher.submit_many(range(8))
            return time.monotonic() - started

    assert asyncio.run(main()) < 2.0  # far under the 5 s max wait


def test_lone_item_waits_max_wait_then_goes() -> None:
    async def main() -> tuple[float, list[int]]:
        async with MicroBatcher(double, max_size=100, max_wait_ms=150) as batcher:
            started = time.monotonic()
            assert await batcher.submit(21) == 42
            return time.monotonic() - started, batcher.batch_sizes

    elapsed, sizes = asyncio.run(main())
    assert sizes == [1]
    assert 0.13 <= elapsed < 1.0


def test_items_arriving_within_the_wait_share_a_batch() -> None:
    async def main() -> list[int]:
        async with MicroBatcher(double, max_size=100, max_wait_ms=300) as batcher:

            async def late(item: int, delay: float) -> int:
                await asyncio.sleep(delay)
                return await batcher.submit(item)

            await asyncio.gather(late(1, 0.0), late(2, 0.05), late(3, 0.1))
            await asyncio.gather(late(4, 0.0))
        return batcher.batch_sizes

    assert asyncio.run(main()) == [3, 1]


def test_a_failing_batch_fails_its_waiters_only() -> None:
    calls = []

    def flaky(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("model fell over")
        return double(items)

    async def main() -> int:
        async with MicroBatcher(flaky, max_size=2, max_wait_ms=10) as batcher:
            with pytest.raises(RuntimeError, match="fell over"):
                await batcher.submit_many([1, 2])
            return await batcher.submit(5)

    assert asyncio.run(main()) == 10
