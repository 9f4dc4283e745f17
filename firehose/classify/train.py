"""Train the topic heads and the prefilter from the labeled dataset; write them as npz arrays.

scikit-learn fits logistic regressions here (train time only); scoring needs numpy alone. The
regularization strength is chosen by cross-validation on the training file only, with folds that
keep each phrasing group together (ids are `<group>-<n>`), so the choice rewards generalizing to
new wordings. The held-out file is never read here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firehose.classify.batcher import batched
from firehose.classify.embedder import Embedder
from firehose.classify.evaluate import LabeledPost, load_jsonl
from firehose.classify.features import embed_text, hashed_ngrams, link_matrix
from firehose.classify.heads import Heads, LinearHead
from firehose.topics import TOPICS

DATA_DIR = Path(__file__).resolve().parent / "data"
HEAD_C = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
HEAD_C_TOLERANCE = 0.005
PREFILTER_DIM = 1 << 18
NGRAM_C = 4.0
PREFILTER_C = (1.0, 4.0)  # the gate's C, per topic: fewest negatives passing at PREFILTER_RECALL (CV)
STATIC_SCALE = 10.0  # unit-norm 384-d static embeddings (values ~0.05) vs 0/1 n-gram features
PREFILTER_RECALL = 0.99  # share of a topic's positives that must pass the first stage (out of fold)
PREFILTER_MAX_PASS = 0.3
# Weight g of the gate's logit in the stacker's cheap voice (z_ngram + g * z_gate), per topic by CV; the
# smallest g within HEAD_C_TOLERANCE of the best wins (0 is the n-gram voice alone).
GATE_VOICE = (0.0, 0.5, 1.0, 2.0)
OPERATING_POINTS = (
    0.3,
    0.35,
    0.4,
    0.45,
    0.5,
    0.55,
    0.6,
    0.65,
    0.7,
)  # never demand more than this probability to pass


@dataclass
class TrainReport:
    n: int
    heads: Heads
    path: Path
    seconds: float
    cv_f1: dict[str, float]


def groups_of(posts: Sequence[LabeledPost]) -> np.ndarray:
    """Phrasing group of each post: the id without its trailing counter."""
    return np.asarray([post.id.rsplit("-", 1)[0] for post in posts])


def hashed_matrix(  # noqa: ANN201 - csr
    texts: Sequence[str], links: np.ndarray, dim: int = PREFILTER_DIM, static: np.ndarray | None = None
):
    """First-stage features in the Heads layout: [hashed n-grams, links, static * STATIC_SCALE]."""
    from scipy.sparse import csr_matrix, hstack

    rows, cols = [], []
    for row, text in enumerate(texts):
        buckets = hashed_ngrams(text, dim)
        rows.extend([row] * len(buckets))
        cols.extend(buckets)
    grams = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), dim))
    parts = [grams, csr_matrix(links)]
    if static is not None:
        parts.append(csr_matrix(static * STATIC_SCALE))
    return hstack(parts).tocsr()


def _folds(y: np.ndarray, groups: np.ndarray, k: int = 5):  # noqa: ANN202
    from sklearn.model_selection import StratifiedGroupKFold

    return list(
        StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=0).split(np.zeros(len(y)), y, groups)
    )


def _oof(make, x, y: np.ndarray, folds) -> np.ndarray:  # noqa: ANN001
    out = np.zeros(len(y))
    for train_idx, test_idx in folds:
        model = make().fit(x[train_idx], y[train_idx])
        out[test_idx] = model.predict_proba(x[test_idx])[:, 1]
    return out


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _f1(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> float:
    pred = p >= threshold
    tp = float((pred & (y == 1)).sum())
    fp = float((pred & (y == 0)).sum())
    fn = float((~pred & (y == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _cut_at_recall(y: np.ndarray, scores: np.ndarray) -> float:
    """The prefilter threshold that keeps PREFILTER_RECALL of the positives (capped)."""
    positives = np.sort(scores[y == 1])
    if not len(positives):
        return 0.5
    return float(min(positives[int(np.floor((1 - PREFILTER_RECALL) * len(positives)))], PREFILTER_MAX_PASS))


def _negatives_passing(y: np.ndarray, scores: np.ndarray) -> float:
    return float((scores[y == 0] >= _cut_at_recall(y, scores)).mean())


def embed_posts(
    embedder: Embedder, posts: Sequence[LabeledPost], progress: Callable[[int], None] | None = None
) -> np.ndarray:
    chunks = []
    for chunk in batched([embed_text(post.record) for post in posts], 64):
        chunks.append(embedder.encode(chunk))
        if progress is not None:
            progress(len(chunk))
    return np.vstack(chunks) if chunks else np.zeros((0, embedder.dim), dtype=np.float32)


def train(
    data_dir: Path,
    out_path: Path,
    embedder: Embedder,
    *,
    progress: Callable[[int], None] | None = None,
    prefilter: bool = True,
) -> TrainReport:
    """Fit heads (and the prefilter) on data_dir/train.jsonl and save them to out_path."""
    from sklearn.linear_model import LogisticRegression

    started = time.monotonic()
    posts = load_jsonl(Path(data_dir) / "train.jsonl", TOPICS)
    if len(posts) < 20:
        raise ValueError(f"{data_dir}/train.jsonl has {len(posts)} posts: too few to train on")
    records = [post.record for post in posts]
    links = link_matrix(records)
    x = np.hstack([embed_posts(embedder, posts, progress), links])
    groups = groups_of(posts)

    heads: dict[str, LinearHead] = {}
    pre_heads: dict[str, LinearHead] = {}
    gate_heads: dict[str, LinearHead] = {}
    pre_pass: dict[str, float] = {}
    gate_voice: dict[str, float] = {}
    cv_f1: dict[str, float] = {}
    meta: dict = {
        "model": embedder.name,
        "embedding_dim": embedder.dim,
        "n_train": len(posts),
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    texts = [embed_text(record) for record in records]
    static = embedder.static(texts)
    xh = hashed_matrix(texts, links)
    xg = hashed_matrix(texts, links, static=static)
    stack: dict[str, tuple[float, float, float]] = {}
    for topic in TOPICS:
        y = np.asarray([topic in post.labels for post in posts], dtype=int)
        folds = _folds(y, groups)
        # The most regularized C within HEAD_C_TOLERANCE of the best cross-validated F1: differences that
        # small are fold noise, and a smoother head generalizes better to wordings nobody wrote yet.
        cv_by_c = {
            c: _f1(y, _oof(lambda c=c: LogisticRegression(C=c, max_iter=3000), x, y, folds)) for c in HEAD_C
        }
        best = min(c for c in HEAD_C if cv_by_c[c] >= max(cv_by_c.values()) - HEAD_C_TOLERANCE)
        oof = _oof(lambda c=best: LogisticRegression(C=c, max_iter=3000), x, y, folds)
        model = LogisticRegression(C=best, max_iter=3000).fit(x, y)
        heads[topic] = LinearHead(model.coef_[0].astype(np.float32), float(model.intercept_[0]))
        meta[f"C_{topic}"] = best
        meta[f"cv_f1_embedding_only_{topic}"] = round(_f1(y, oof), 4)

        # The n-gram model: the second voice of the stacker.
        make = lambda: LogisticRegression(C=NGRAM_C, max_iter=3000, class_weight="balanced")  # noqa: E731
        pre_oof = _oof(make, xh, y, folds)
        pre = make().fit(xh, y)
        pre_heads[topic] = LinearHead(pre.coef_[0].astype(np.float32), float(pre.intercept_[0]))

        # The gate (n-grams, links, static embedding) decides what the model sees. Its C is the one that
        # lets the fewest out-of-fold negatives through at the recall floor.
        def gate_model(c: float) -> LogisticRegression:
            return LogisticRegression(C=c, max_iter=3000, class_weight="balanced")

        candidates = {c: _oof(lambda c=c: gate_model(c), xg, y, folds) for c in PREFILTER_C}
        gate_c = min(PREFILTER_C, key=lambda c: _negatives_passing(y, candidates[c]))
        gate = gate_model(gate_c).fit(xg, y)
        gate_heads[topic] = LinearHead(gate.coef_[0].astype(np.float32), float(gate.intercept_[0]))
        meta[f"prefilter_C_{topic}"] = gate_c
        if prefilter:
            pre_pass[topic] = _cut_at_recall(y, candidates[gate_c])
            meta[f"prefilter_oof_pass_rate_negatives_{topic}"] = round(
                _negatives_passing(y, candidates[gate_c]), 4
            )

        # Stacker on out-of-fold logits, so it learns how far to trust each model on unseen wordings. Its
        # cheap voice is the n-gram logit plus g times the gate's (the gate runs anyway, for the prefilter).
        by_voice = {}
        for g in GATE_VOICE:
            z = np.column_stack([_logit(oof), _logit(pre_oof) + g * _logit(candidates[gate_c])])
            by_voice[g] = (z, _oof(lambda: LogisticRegression(C=1.0), z, y, folds))
        voice_f1 = {g: max(_f1(y, by_voice[g][1], t) for t in OPERATING_POINTS) for g in GATE_VOICE}
        voice = min(g for g in GATE_VOICE if voice_f1[g] >= max(voice_f1.values()) - HEAD_C_TOLERANCE)
        if voice:
            gate_voice[topic] = voice
        meta[f"gate_voice_{topic}"] = voice
        meta[f"cv_f1_by_gate_voice_{topic}"] = {str(g): round(f, 4) for g, f in voice_f1.items()}
        z, stacked_oof = by_voice[voice]
        stacker = LogisticRegression(C=1.0).fit(z, y)
        # Operating point chosen on out-of-fold training scores, folded into the intercept so that the
        # settings' threshold 0.5 means "the best F1 point seen in cross-validation".
        # Within fold noise (HEAD_C_TOLERANCE) of the best F1, the point nearest 0.5 wins.
        f1_at = {t: _f1(y, stacked_oof, t) for t in OPERATING_POINTS}
        near_best = [t for t in OPERATING_POINTS if f1_at[t] >= max(f1_at.values()) - HEAD_C_TOLERANCE]
        best_t = min(near_best, key=lambda t: abs(t - 0.5))
        shift = float(_logit(np.asarray([best_t]))[0])
        stack[topic] = (
            float(stacker.coef_[0][0]),
            float(stacker.coef_[0][1]),
            float(stacker.intercept_[0]) - shift,
        )
        cv_f1[topic] = _f1(y, stacked_oof, best_t)
        meta[f"cv_f1_{topic}"] = round(cv_f1[topic], 4)
        meta[f"operating_point_{topic}"] = best_t
    result = Heads(
        TOPICS,
        heads,
        pre_heads,
        PREFILTER_DIM,
        pre_pass,
        meta,
        stack,
        gate=gate_heads,
        static_dim=static.shape[1],
        static_scale=STATIC_SCALE,
        gate_voice=gate_voice,
    )
    path = result.save(out_path)
    return TrainReport(len(posts), Heads.load(path), path, time.monotonic() - started, cv_f1)
