"""Topic heads and the prefilter: linear models stored as plain npz arrays, loaded with numpy only.

A pickle can run code when loaded; these files are arrays and one JSON string, read with
`allow_pickle=False`, and a checksum over every array catches a damaged or edited file.
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

FORMAT = 1
DEFAULT_HEADS_PATH = Path(__file__).resolve().parent / "heads" / "heads.npz"


class HeadsError(Exception):
    """The heads file is missing, corrupt, or does not fit the embedding model."""


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


@dataclass(frozen=True)
class LinearHead:
    """p = sigmoid(x . w + b)."""

    w: np.ndarray
    b: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        return sigmoid(x @ self.w + self.b)


@dataclass
class Heads:
    """Per topic: a head over [embedding, link features], a hashed n-gram model over [n-grams, link
    features], and a stacker that blends their logits: score = sigmoid(a * z_emb + b * z_ngram + c).

    The prefilter (first stage) decides which posts are embedded at all: a post whose first-stage
    probability is under `prefilter_pass[topic]` for every topic has no chance and scores 0. The first
    stage is the `gate` model when there is one, over [hashed n-grams, link features, static embedding *
    static_scale] (the static embedding is the model's input token embeddings averaged,
    `Embedder.static`, which knows that "llama" and "pretraining" are ML words without running the
    model); heads files without a gate use the n-gram model itself.

    `gate_voice[topic]` (g, chosen by cross-validation in training; 0 when absent) adds the gate's logit
    to the stacker's cheap voice: z_ngram + g * z_gate. The gate is computed anyway for the prefilter, and
    its static embedding knows ML words in other languages and slang that no n-gram in the data has.
    """

    topics: tuple[str, ...]
    heads: dict[str, LinearHead]
    prefilter: dict[str, LinearHead] = field(default_factory=dict)
    prefilter_dim: int = 0
    prefilter_pass: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    stack: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    gate: dict[str, LinearHead] = field(default_factory=dict)
    static_dim: int = 0
    static_scale: float = 1.0
    gate_voice: dict[str, float] = field(default_factory=dict)

    @property
    def embedding_dim(self) -> int:
        return int(self.meta["embedding_dim"])

    @property
    def needs_static(self) -> bool:
        return bool(self.gate) and self.static_dim > 0

    def embedding_logits(self, embeddings: np.ndarray, links: np.ndarray) -> np.ndarray:
        x = np.hstack([embeddings.astype(np.float32), links.astype(np.float32)])
        if len(x) == 0:
            return np.zeros((0, len(self.topics)))
        return np.stack([x @ self.heads[t].w + self.heads[t].b for t in self.topics], axis=1)

    def score(
        self, embeddings: np.ndarray, links: np.ndarray, ngram_logits: np.ndarray | None = None
    ) -> np.ndarray:
        """(n, topics) probabilities from embeddings (n, d), link features (n, k) and n-gram logits."""
        z = self.embedding_logits(embeddings, links)
        if not self.stack or ngram_logits is None:
            return sigmoid(z)
        a, b, c = (np.asarray([self.stack[t][i] for t in self.topics]) for i in range(3))
        return sigmoid(a * z + b * ngram_logits + c)

    def _sparse_logits(
        self, models: dict[str, LinearHead], buckets: list[list[int]], links: np.ndarray
    ) -> np.ndarray:
        out = np.zeros((len(buckets), len(self.topics)))
        n_links = len(LINK_FEATURES)
        for col, topic in enumerate(self.topics):
            w = models[topic].w
            out[:, col] = [w[row].sum() for row in buckets]
            if len(buckets):
                out[:, col] += links @ w[self.prefilter_dim : self.prefilter_dim + n_links] + models[topic].b
        return out

    def first_stage(
        self, texts: Sequence[str], links: np.ndarray, static: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(the stacker's cheap voice, prefilter probabilities), both (n, topics); no model run.

        The cheap voice is the n-gram logit plus `gate_voice[topic]` times the gate logit. Hashes each text
        once for both. `static` (n, static_dim) is needed when the heads have a gate.
        """
        if not self.prefilter:
            zeros = np.zeros((len(texts), len(self.topics)))
            return zeros, sigmoid(zeros)
        buckets = [hashed_ngrams(text, self.prefilter_dim) for text in texts]
        ngram = self._sparse_logits(self.prefilter, buckets, links)
        if not self.gate:
            return ngram, sigmoid(ngram)
        if static is None or static.shape != (len(texts), self.static_dim):
            raise HeadsError(f"the prefilter gate needs static embeddings of {self.static_dim} dims")
        gate = self._sparse_logits(self.gate, buckets, links)
        if len(texts):
            start = self.prefilter_dim + len(LINK_FEATURES)
            weights = np.stack([self.gate[topic].w[start:] for topic in self.topics], axis=1)
            gate += (static.astype(np.float32) * self.static_scale) @ weights
        voice = np.asarray([self.gate_voice.get(topic, 0.0) for topic in self.topics])
        return ngram + voice * gate, sigmoid(gate)

    def ngram_logits(self, texts: Sequence[str], links: np.ndarray) -> np.ndarray:
        """(n, topics) logits of the hashed n-gram model; cheap (no model)."""
        if not self.prefilter:
            return np.zeros((len(texts), len(self.topics)))
        buckets = [hashed_ngrams(text, self.prefilter_dim) for text in texts]
        return self._sparse_logits(self.prefilter, buckets, links)

    def prefilter_passes(self, pre: np.ndarray) -> np.ndarray:
        """(n,) True where any topic's prefilter probability reaches its pass threshold."""
        limits = np.asarray([self.prefilter_pass[topic] for topic in self.topics])
        return (pre >= limits).any(axis=1)

    # ------------------------------------------------------------------ storage
    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for topic in self.topics:
            arrays[f"head_{topic}_w"] = np.asarray(self.heads[topic].w, dtype=np.float32)
            arrays[f"head_{topic}_b"] = np.asarray([self.heads[topic].b], dtype=np.float64)
            if self.prefilter:
                arrays[f"pre_{topic}_w"] = np.asarray(self.prefilter[topic].w, dtype=np.float32)
                arrays[f"pre_{topic}_b"] = np.asarray([self.prefilter[topic].b], dtype=np.float64)
            if self.gate:
                arrays[f"gate_{topic}_w"] = np.asarray(self.gate[topic].w, dtype=np.float32)
                arrays[f"gate_{topic}_b"] = np.asarray([self.gate[topic].b], dtype=np.float64)
            if topic in self.stack:
                arrays[f"stack_{topic}"] = np.asarray(self.stack[topic], dtype=np.float64)
            if self.gate_voice.get(topic):
                arrays[f"voice_{topic}"] = np.asarray([self.gate_voice[topic]], dtype=np.float64)
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
            "prefilter_dim": self.prefilter_dim,
            "prefilter_pass": self.prefilter_pass,
            "static_dim": self.static_dim,
            "static_scale": self.static_scale,
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
            raise HeadsError(f"heads file {path} has format {meta.get('format')!r}, expected {FORMAT}")
        if meta.get("checksum") != _checksum(arrays):
            raise HeadsError(f"heads file {path} fails its checksum: it was damaged or edited")
        if list(meta.get("link_features", [])) != list(LINK_FEATURES):
            raise HeadsError(f"heads file {path} was trained with other link features: retrain")
        topics = tuple(meta["topics"])
        width = int(meta["embedding_dim"]) + len(LINK_FEATURES)
        heads, prefilter, stack, gate, gate_voice = {}, {}, {}, {}, {}
        for topic in topics:
            w = arrays[f"head_{topic}_w"]
            if w.shape != (width,) or not np.isfinite(w).all():
                raise HeadsError(
                    f"heads file {path}: head {topic!r} has shape {w.shape}, expected ({width},)"
                )
            heads[topic] = LinearHead(w.astype(np.float32), float(arrays[f"head_{topic}_b"][0]))
            if f"pre_{topic}_w" in arrays:
                pre_w = arrays[f"pre_{topic}_w"]
                if pre_w.shape != (int(meta.get("prefilter_dim", 0)) + len(LINK_FEATURES),):
                    raise HeadsError(f"heads file {path}: prefilter {topic!r} has shape {pre_w.shape}")
                prefilter[topic] = LinearHead(pre_w, float(arrays[f"pre_{topic}_b"][0]))
            if f"gate_{topic}_w" in arrays:
                gate_w = arrays[f"gate_{topic}_w"]
                gate_width = (
                    int(meta.get("prefilter_dim", 0)) + len(LINK_FEATURES) + int(meta.get("static_dim", 0))
                )
                if gate_w.shape != (gate_width,) or not np.isfinite(gate_w).all():
                    raise HeadsError(f"heads file {path}: gate {topic!r} has shape {gate_w.shape}")
                gate[topic] = LinearHead(gate_w, float(arrays[f"gate_{topic}_b"][0]))
            if f"stack_{topic}" in arrays:
                a, b, c = (float(v) for v in arrays[f"stack_{topic}"])
                stack[topic] = (a, b, c)
            if f"voice_{topic}" in arrays:
                if topic not in gate:
                    raise HeadsError(f"heads file {path}: {topic!r} mixes in a gate it does not have")
                gate_voice[topic] = float(arrays[f"voice_{topic}"][0])
        return cls(
            topics=topics,
            heads=heads,
            prefilter=prefilter,
            prefilter_dim=int(meta.get("prefilter_dim", 0)),
            prefilter_pass={k: float(v) for k, v in meta.get("prefilter_pass", {}).items()},
            meta=meta,
            stack=stack,
            gate=gate,
            static_dim=int(meta.get("static_dim", 0)),
            static_scale=float(meta.get("static_scale", 1.0)),
            gate_voice=gate_voice,
        )


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(name.encode())
        digest.update(str(array.dtype).encode() + str(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()
