"""Micro-batching: gather single requests into batches of at most `max_size`, waiting at most `max_wait`.

The model is far faster per post on a batch than one post at a time, but a lone post on a quiet
stream must not wait for company forever: a batch goes when it is full or when its first item has
waited `max_wait_ms`, whichever comes first. The batch function runs in a worker thread so the event
loop (websocket reads, the store) keeps moving while the model works.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of at most `size` items."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class MicroBatcher(Generic[T, R]):
    """`await submit(item)` -> fn's result for that item, computed in a batch with its neighbours.

    `fn(items) -> results` must return one result per item, in order. Use as `async with`.
    """

    def __init__(
        self,
        fn: Callable[[Sequence[T]], Sequence[R]],
        *,
        max_size: int,
        max_wait_ms: float,
        in_thread: bool = True,
    ) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.fn = fn
        self.max_size = max_size
        self.max_wait = max(0.0, max_wait_ms) / 1000.0
        self.in_thread = in_thread
        self.batch_sizes: list[int] = []  # the size of every batch run, for metrics and tests
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def __aenter__(self) -> MicroBatcher[T, R]:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start(self) -> None:
        if self._worker is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.get_running_loop().create_task(self._run(), name="micro-batcher")

    async def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._worker is None or self._queue is None:
            return
        await self._queue.join()
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None

    async def submit(self, item: T) -> R:
        self.start()
        assert self._queue is not None
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def submit_many(self, items: Iterable[T]) -> list[R]:
        return list(await asyncio.gather(*(self.submit(item) for item in items)))

    async def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        assert self._queue is not None
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Take what is already waiting without sleeping.
                while len(batch) < self.max_size and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), timeout=remaining))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = await self._take()
            items = [item for item, _ in batch]
            self.batch_sizes.append(len(items))
            try:
                if self.in_thread:
                    results = await asyncio.to_thread(self.fn, items)
                else:
                    results = self.fn(items)
                if len(results) != len(items):
                    raise RuntimeError(
                        f"batch function returned {len(results)} results for {len(items)} items"
                    )
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
            except Exception as error:  # every waiter learns of the failure
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
            finally:
                for _ in batch:
                    self._queue.task_done()
