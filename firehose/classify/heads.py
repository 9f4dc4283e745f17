"""The trained classifier: per topic a cheap first stage and two linear heads, stored as plain npz arrays.

A pickle can run code when loaded; these files are arrays and one JSON string, read with
`allow_pickle=False`, and a checksum over every array catches a damaged or edited file.

Per topic (`TopicModel`):
- `gate`, the first stage: a linear model over [hashed n-grams, lexicon groups, link features], no model
  run. A post whose gate logit is under `gate_cut` for every topic is never embedded and scores 0.
- `real`, the network head: over [lexicon * LEX_SCALE, link features, embedding * readable, unreadable],
  trained on real posts at the network's base rate. `readable` is 1 when the encoder reads the post's
  language; otherwise the embedding is zero and only the lexicon and links speak.
- `written`, the practitioner head: over [embedding, link features, lexicon], trained on the written
  dataset, where technical ML and GitHub posts are plentiful and the real sample has few. It admits a
  post only when the encoder reads its language and the network head gives it at least `written_floor`,
  so its blind spots (everyday posts the templates never showed it) stay closed.

score = max(sigmoid(z_real - real_cut), sigmoid(z_written - written_cut) where the written route is open):
0.5 is the operating point chosen on held-out real posts, so FEEDGEN_THRESHOLD_* = 0.5 means "as trained".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from firehose.classify.features import LINK_FEATURES, hashed_ngrams
from firehose.classify.lexicon import GROUPS

FORMAT = 2
DEFAULT_HEADS_PATH = Path(__file__).resolve().parent / "heads" / "heads.npz"
LEX_SCALE = 3.0  # lexicon features are 0/1 like links; x3 lets L2-regularized heads give them weight
_FIELDS = ("gate", "real", "written")


class HeadsError(Exception):
    """The heads file is missing, corrupt, or does not fit the embedding model."""


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


@dataclass(frozen=True)
class LinearHead:
    """z = x . w + b (a logit)."""

    w: np.ndarray
    b: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        return x @ self.w + self.b


@dataclass(frozen=True)
class TopicModel:
    gate: LinearHead
    gate_cut: float
    real: LinearHead
    real_cut: float
    written: LinearHead | None = None
    written_cut: float = 0.0
    written_floor: float = 0.0


def real_features(embeddings: np.ndarray, lexicon: np.ndarray, links: np.ndarray, readable: np.ndarray):  # noqa: ANN201
    """[lexicon * LEX_SCALE, links, embedding * readable, 1 - readable] (n, G + K + d + 1)."""
    r = readable.astype(np.float32)[:, None]
    return np.hstack([lexicon * LEX_SCALE, links, embeddings * r, 1.0 - r]).astype(np.float32)


def written_features(embeddings: np.ndarray, lexicon: np.ndarray, links: np.ndarray) -> np.ndarray:
    return np.hstack([embeddings, links, lexicon]).astype(np.float32)


@dataclass
class Heads:
    topics: tuple[str, ...]
    models: dict[str, TopicModel]
    ngram_dim: int
    embedding_dim: int
    readable_languages: tuple[str, ...] = ("en",)
    meta: dict[str, Any] = field(default_factory=dict)

    def gate_logits(self, texts: Sequence[str], lexicon: np.ndarray, links: np.ndarray) -> np.ndarray:
        """(n, topics) first-stage logits; hashes each text once for every topic."""
        out = np.zeros((len(texts), len(self.topics)))
        if not len(texts):
            return out
        buckets = [hashed_ngrams(text, self.ngram_dim) for text in texts]
        # One gather and one bincount per topic instead of a sum per post (sums in float64).
        rows = np.repeat(np.arange(len(texts)), [len(b) for b in buckets])
        flat = np.fromiter((i for b in buckets for i in b), dtype=np.intp, count=len(rows))
        dense = np.hstack([lexicon * LEX_SCALE, links]).astype(np.float32)
        for col, topic in enumerate(self.topics):
            gate = self.models[topic].gate
            out[:, col] = np.bincount(rows, weights=gate.w[flat], minlength=len(texts))
            out[:, col] += dense @ gate.w[self.ngram_dim :] + gate.b
        return out

    def passes(self, gate_logits: np.ndarray) -> np.ndarray:
        """(n,) True where any topic's gate logit reaches its cut: these posts go on to the model."""
        cuts = np.asarray([self.models[topic].gate_cut for topic in self.topics])
        return (gate_logits >= cuts).any(axis=1)

    def score(
        self, embeddings: np.ndarray, lexicon: np.ndarray, links: np.ndarray, readable: np.ndarray
    ) -> np.ndarray:
        """(n, topics) scores of posts that passed the first stage (embeddings of unreadable posts: 0)."""
        return self.routes(embeddings, lexicon, links, readable).max(axis=2)

    def routes(
        self, embeddings: np.ndarray, lexicon: np.ndarray, links: np.ndarray, readable: np.ndarray
    ) -> np.ndarray:
        """(n, topics, 2): the network route's and the written route's scores (0 where it is closed)."""
        out = np.zeros((len(embeddings), len(self.topics), 2))
        if not len(embeddings):
            return out
        xr = real_features(embeddings, lexicon, links, readable)
        xw = written_features(embeddings, lexicon, links)
        for col, topic in enumerate(self.topics):
            model = self.models[topic]
            z_real = model.real.logit(xr)
            out[:, col, 0] = sigmoid(z_real - model.real_cut)
            if model.written is not None:
                open_ = readable.astype(bool) & (z_real >= model.written_floor)
                out[:, col, 1] = np.where(open_, sigmoid(model.written.logit(xw) - model.written_cut), 0.0)
        return out

    # ------------------------------------------------------------------ storage
    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for topic, model in self.models.items():
            for name in _FIELDS:
                head = getattr(model, name)
                if head is not None:
                    arrays[f"{name}_{topic}_w"] = np.asarray(head.w, dtype=np.float32)
                    arrays[f"{name}_{topic}_b"] = np.asarray([head.b], dtype=np.float64)
            arrays[f"cuts_{topic}"] = np.asarray(
                [model.gate_cut, model.real_cut, model.written_cut, model.written_floor], dtype=np.float64
            )
        return arrays

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = self._arrays()
        meta = {
            **self.meta,
            "format": FORMAT,
            "topics": list(self.topics),
            "link_features": list(LINK_FEATURES),
            "lexicon_groups": list(GROUPS),
            "ngram_dim": self.ngram_dim,
            "embedding_dim": self.embedding_dim,
            "readable_languages": list(self.readable_languages),
            "checksum": _checksum(arrays),
        }
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, meta=np.asarray(json.dumps(meta, sort_keys=True)), **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: Path | str) -> Heads:
        path = Path(path)
        if not path.is_file():
            raise HeadsError(f"no heads file at {path} (run `gitfeed train`, or set FEEDGEN_HEADS_PATH)")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
        except Exception as error:  # zipfile, pickle refusal, truncated data: all mean "corrupt"
            raise HeadsError(f"heads file {path} is corrupt or not an npz of arrays: {error}") from error
        try:
            meta = json.loads(str(arrays.pop("meta")))
        except (KeyError, ValueError) as error:
            raise HeadsError(f"heads file {path} has no readable metadata") from error
        if meta.get("format") != FORMAT:
            raise HeadsError(
                f"heads file {path} has format {meta.get('format')!r}, expected {FORMAT}: retrain"
            )
        if meta.get("checksum") != _checksum(arrays):
            raise HeadsError(f"heads file {path} fails its checksum: it was damaged or edited")
        if list(meta.get("link_features", [])) != list(LINK_FEATURES):
            raise HeadsError(f"heads file {path} was trained with other link features: retrain")
        if list(meta.get("lexicon_groups", [])) != list(GROUPS):
            raise HeadsError(f"heads file {path} was trained with other lexicon groups: retrain")
        ngram_dim, dim = int(meta["ngram_dim"]), int(meta["embedding_dim"])
        widths = {
            "gate": ngram_dim + len(GROUPS) + len(LINK_FEATURES),
            "real": len(GROUPS) + len(LINK_FEATURES) + dim + 1,
            "written": dim + len(LINK_FEATURES) + len(GROUPS),
        }
        models = {}
        for topic in meta["topics"]:
            heads: dict[str, LinearHead | None] = {}
            for name in _FIELDS:
                w = arrays.get(f"{name}_{topic}_w")
                if w is None:
                    if name != "written":
                        raise HeadsError(f"heads file {path}: topic {topic!r} has no {name} head")
                    heads[name] = None
                    continue
                if w.shape != (widths[name],) or not np.isfinite(w).all():
                    raise HeadsError(
                        f"heads file {path}: {name} head of {topic!r} has shape {w.shape}, "
                        f"expected ({widths[name]},)"
                    )
                heads[name] = LinearHead(w.astype(np.float32), float(arrays[f"{name}_{topic}_b"][0]))
            cuts = arrays.get(f"cuts_{topic}")
            if cuts is None or cuts.shape != (4,) or not np.isfinite(cuts).all():
                raise HeadsError(f"heads file {path}: topic {topic!r} has no valid cuts")
            gate_cut, real_cut, written_cut, written_floor = (float(v) for v in cuts)
            models[topic] = TopicModel(
                heads["gate"], gate_cut, heads["real"], real_cut, heads["written"], written_cut, written_floor
            )
        return cls(
            topics=tuple(meta["topics"]),
            models=models,
            ngram_dim=ngram_dim,
            embedding_dim=dim,
            readable_languages=tuple(meta.get("readable_languages", ["en"])),
            meta=meta,
        )


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(name.encode())
        digest.update(str(array.dtype).encode() + str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
