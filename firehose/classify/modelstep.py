"""The model step: the part of the classifier that needs the encoder, and where it runs.

`EmbeddingScorer` runs the cheap first stage (lexicon, links, hashed n-gram gate, language) itself and
hands only the posts that pass it (a few % of the network) to a `ModelStep`, which returns each post's
two head routes (the network head and the written head, 0..1 per topic). Two steps fit the seam:

- `LocalModel`: the Embedder and the heads in this process (the one-machine default);
- `firehose.classify.remote:RemoteModel`: the same `LocalModel` behind HTTP in scoring workers
  (`gitfeed scorer`, Ray Serve; `FEEDGEN_SCORER_URL`).

The link, lexicon and veto rules stay in the scorer on either side of the seam, so the step's answer is
the heads' alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from firehose.classify.heads import Heads, HeadsError

if TYPE_CHECKING:
    from firehose.classify.embedder import Embedder


@dataclass(frozen=True)
class ModelInput:
    """The first-stage survivors of one batch, as the model step reads them.

    texts: what the encoder reads (`embed_text`); lexicon (n, groups) and links (n, link features): the
    first stage's features, which the heads read too; readable (n,): the encoder reads the language
    (an unreadable post gets a zero embedding and only its lexicon and links speak).
    """

    texts: Sequence[str]
    lexicon: np.ndarray
    links: np.ndarray
    readable: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def rows(self) -> list[ModelInput]:
        """One input per post (a serving batch is cut across requests post by post)."""
        one = [slice(i, i + 1) for i in range(len(self))]
        return [ModelInput(self.texts[i], self.lexicon[i], self.links[i], self.readable[i]) for i in one]

    @classmethod
    def concat(cls, parts: Sequence[ModelInput]) -> ModelInput:
        """One input from several (a serving batch gathers posts from several requests)."""
        return cls(
            texts=[text for part in parts for text in part.texts],
            lexicon=np.concatenate([part.lexicon for part in parts]),
            links=np.concatenate([part.links for part in parts]),
            readable=np.concatenate([part.readable for part in parts]).astype(bool),
        )


class ModelStep(Protocol):
    """Survivors in, (n, topics, 2) route scores out, in order, every value in 0..1."""

    topics: tuple[str, ...]

    def routes(self, batch: ModelInput) -> np.ndarray: ...

    def describe(self) -> str: ...


class LocalModel:
    """The encoder and the heads in this process: embed the readable posts, then the two heads."""

    def __init__(self, embedder: Embedder, heads: Heads) -> None:
        if heads.embedding_dim != embedder.dim:
            raise HeadsError(
                f"the heads were trained on {heads.meta.get('model')!r} ({heads.embedding_dim} dims) but the "
                f"model {embedder.name!r} gives {embedder.dim}: retrain with `gitfeed train`"
            )
        self.embedder = embedder
        self.heads = heads
        self.topics: tuple[str, ...] = heads.topics

    def routes(self, batch: ModelInput) -> np.ndarray:
        embeddings = np.zeros((len(batch), self.embedder.dim), dtype=np.float32)
        to_embed = np.flatnonzero(batch.readable)
        if len(to_embed):
            embeddings[to_embed] = self.embedder.encode([batch.texts[row] for row in to_embed])
        return self.heads.routes(embeddings, batch.lexicon, batch.links, batch.readable)

    def describe(self) -> str:
        return self.embedder.describe()
