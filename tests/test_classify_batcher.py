"""batched: the model sees consecutive chunks of at most FEEDGEN_EMBED_BATCH_SIZE posts, in order."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from firehose.classify.batcher import batched


def double(items: Sequence[int]) -> list[int]:
    return [2 * item for item in items]


def test_batched_splits_in_order() -> None:
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError):
        list(batched([1], 0))
