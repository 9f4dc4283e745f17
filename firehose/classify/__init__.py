"""The embedding classifier: sentence embeddings + small topic heads, behind `PostScorer`.

Importing this package is cheap; torch loads only when an `Embedder` is built.
"""

from firehose.classify.embedder import Embedder, ModelNotFoundError
from firehose.classify.heads import Heads, HeadsError
from firehose.classify.scorer import EmbeddingScorer, build_scorer
from firehose.scoring import kept_topics

__all__ = [
    "EmbeddingScorer",
    "Embedder",
    "Heads",
    "HeadsError",
    "ModelNotFoundError",
    "build_scorer",
    "kept_topics",
]
