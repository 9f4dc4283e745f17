"""Chunks for the model.

Micro-batching itself happens in ingest (firehose/ingest.py): a batch of events goes to the commit thread
when it is full (FEEDGEN_BATCH_MAX_EVENTS), when its first event has waited FEEDGEN_BATCH_MAX_SECONDS, or at
once when the writer is idle, so a lone post on a quiet stream never waits for company and a burst is
scored in large batches. The scorer embeds a batch's candidate posts in chunks of FEEDGEN_EMBED_BATCH_SIZE.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


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
