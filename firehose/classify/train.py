"""Train the classifier (first stage and both heads per topic) and choose its operating points.

Two kinds of labeled posts, each doing what it is good for:
- real posts (`realdata`, the train split only, plus the operator's labels from `gitfeed label`): the
  network as it is, about 99% off-topic in dozens of languages. The first stage and the network head
  learn from them, and every threshold is chosen on their out-of-fold scores, so the operating point
  holds at the network's base rate;
- written posts (`data/train.jsonl`): technical ML and GitHub posts and word traps, plentiful where the
  real sample has a handful. The written head learns from them alone (folds keep phrasing groups
  together), and is trusted only where the network head does not rule a post out.

scikit-learn fits the logistic regressions (train time only); scoring needs numpy alone. The real test
split and the written held-out files are never read here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from firehose.classify import rules
from firehose.classify.batcher import batched
from firehose.classify.embedder import Embedder
from firehose.classify.evaluate import LabeledPost, load_jsonl
from firehose.classify.features import embed_text, hashed_ngrams, link_matrix
from firehose.classify.heads import LEX_SCALE, Heads, LinearHead, TopicModel, real_features, written_features
from firehose.classify.language import detect_language
from firehose.classify.lexicon import lexicon_matrix
from firehose.topics import TOPICS

DATA_DIR = Path(__file__).resolve().parent / "data"
NGRAM_DIM = 1 << 18
READABLE_LANGUAGES = ("en",)  # all-MiniLM-L6-v2 was trained on English text only
GATE_C = 0.5
GATE_WRITTEN_WEIGHT = 0.3  # written posts teach the gate ML and GitHub words the real sample lacks
GATE_RECALL = 0.98  # share of real on-topic posts (out of fold) the first stage should keep...
GATE_MAX_PASS = 0.05  # ...unless that sends more than this share of real posts to the model
REAL_C = 0.3
# The network head also sees the written posts, lightly: their word traps (a cockpit's copilot, "AI tokens")
# teach it what the lexicon's words mean beside other words; their positives barely move its base rate.
REAL_WRITTEN_NEGATIVE_WEIGHT = 0.3
REAL_WRITTEN_POSITIVE_WEIGHT = 0.1
WRITTEN_C = 4.0
WRITTEN_REAL_WEIGHT = 0.3  # the real posts' weight in the written head
UNCERTAIN_WEIGHT = 0.5
# The operating point: the real route's cut, the written route's cut and the floor it needs from the
# network head, searched together on out-of-fold scores. The written set's F1 counts up to a cap, so it
# can never buy itself precision on the network.
REAL_CUTS = np.arange(-4.0, 4.01, 0.25)
WRITTEN_CUTS = np.arange(-2.0, 6.01, 0.5)
WRITTEN_FLOORS = np.arange(-12.0, 2.01, 1.0)
WRITTEN_F1_WEIGHT, WRITTEN_F1_CAP = 0.35, 0.93
# On the network a false positive is a wrong post in a subscriber's feed; the github topic, with a handful
# of real positives beside its link and name rules, weighs precision double (F0.5).
REAL_F_BETA = {"github": 0.5, "ml": 1.0}
# The operating point must keep at least this precision on the real posts out of fold (the feeds' targets)
# when any point does: the written route may add recall, never a feed a subscriber would not trust.
REAL_PRECISION_FLOOR = {"github": 0.95, "ml": 0.90}
FOLDS = 5


@dataclass
class TrainReport:
    n_real: int
    n_written: int
    heads: Heads
    path: Path
    seconds: float
    cv: dict[str, dict[str, float]]


@dataclass
class _Domain:
    """One kind of labeled post, with everything the models read of it."""

    posts: list[LabeledPost]
    texts: list[str]
    lexicon: np.ndarray
    links: np.ndarray
    readable: np.ndarray
    embeddings: np.ndarray
    groups: np.ndarray

    def y(self, topic: str) -> np.ndarray:
        return np.asarray([topic in post.labels for post in self.posts], dtype=int)

    def weights(self) -> np.ndarray:
        return np.asarray([UNCERTAIN_WEIGHT if post.uncertain else 1.0 for post in self.posts])

    def certain(self) -> np.ndarray:
        return np.asarray([not post.uncertain for post in self.posts])


def hashed_matrix(texts: Sequence[str], dense: np.ndarray, dim: int = NGRAM_DIM):  # noqa: ANN201 - csr
    """First-stage features in the Heads layout: [hashed n-grams, dense (lexicon * LEX_SCALE, links)]."""
    from scipy.sparse import csr_matrix, hstack

    rows, cols = [], []
    for row, text in enumerate(texts):
        buckets = hashed_ngrams(text, dim)
        rows.extend([row] * len(buckets))
        cols.extend(buckets)
    grams = csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(texts), dim))
    return hstack([grams, csr_matrix(dense)]).tocsr()


def _domain(
    embedder: Embedder,
    posts: Sequence[LabeledPost],
    groups: Sequence[str],
    progress: Callable[[int], None] | None,
    *,
    embed_all: bool = False,
) -> _Domain:
    texts = [embed_text(post.record) for post in posts]
    readable = np.asarray([detect_language(text) in READABLE_LANGUAGES for text in texts])
    embeddings = np.zeros((len(posts), embedder.dim), dtype=np.float32)
    wanted = np.flatnonzero(readable) if not embed_all else np.arange(len(posts))
    for chunk in batched(wanted.tolist(), 64):
        embeddings[chunk] = embedder.encode([texts[i] for i in chunk])
        if progress is not None:
            progress(len(chunk))
    return _Domain(
        list(posts),
        texts,
        lexicon_matrix(texts),
        link_matrix([post.record for post in posts]),
        readable,
        embeddings,
        np.asarray(groups),
    )


def _folds(y: np.ndarray, groups: np.ndarray | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    k = max(2, min(FOLDS, int(y.sum()), int((1 - y).sum())))
    if groups is None:
        return list(StratifiedKFold(k, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    return list(StratifiedGroupKFold(k, shuffle=True, random_state=0).split(np.zeros(len(y)), y, groups))


def _fit(x, y: np.ndarray, w: np.ndarray, c: float, balanced: bool = False):  # noqa: ANN001, ANN202
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced" if balanced else None)
    return model.fit(x, y, sample_weight=w)


def _head(model) -> LinearHead:  # noqa: ANN001
    return LinearHead(model.coef_[0].astype(np.float32), float(model.intercept_[0]))


def _out_of_fold(x, y, w, c, folds, *, balanced=False, extra=None) -> np.ndarray:  # noqa: ANN001
    """Out-of-fold logits on x; `extra` (x, y, w) joins every fold's training set (never scored)."""
    from scipy.sparse import issparse, vstack

    out = np.zeros(len(y))
    for train_idx, test_idx in folds:
        xs, ys, ws = x[train_idx], y[train_idx], w[train_idx]
        if extra is not None:
            stack = vstack if issparse(xs) else np.vstack
            xs, ys, ws = stack([xs, extra[0]]), np.concatenate([ys, extra[1]]), np.concatenate([ws, extra[2]])
        out[test_idx] = _fit(xs, ys, ws, c, balanced).decision_function(x[test_idx])
    return out


def _f1(y: np.ndarray, admitted: np.ndarray, mask: np.ndarray, beta: float = 1.0) -> float:
    """F-beta (F1 by default) of the admitted posts under mask."""
    tp = int((admitted & (y == 1) & mask).sum())
    fp = int((admitted & (y == 0) & mask).sum())
    fn = int((~admitted & (y == 1) & mask).sum())
    b2 = beta * beta
    return (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0


def _gate_cut(y: np.ndarray, oof: np.ndarray) -> float:
    """The cut keeping GATE_RECALL of the on-topic posts, raised if it would pass over GATE_MAX_PASS."""
    positives = np.sort(oof[y == 1])
    at_recall = positives[int(np.floor((1 - GATE_RECALL) * len(positives)))] if len(positives) else 0.0
    at_budget = float(np.quantile(oof, 1 - GATE_MAX_PASS))
    return float(max(at_recall, at_budget))


def train(
    out_path: Path,
    embedder: Embedder,
    *,
    real_posts: Sequence[LabeledPost] = (),
    written_path: Path = DATA_DIR / "train.jsonl",
    progress: Callable[[int], None] | None = None,
) -> TrainReport:
    """Fit every topic's models on the real posts and the written file; save them to out_path."""
    from scipy.sparse import vstack

    started = time.monotonic()
    written_posts = load_jsonl(written_path, TOPICS)
    if len(real_posts) < 50:
        raise ValueError(
            f"{len(real_posts)} real labeled posts: too few to set thresholds at the network's base rate "
            "(point `gitfeed train --real-posts` at shared/corpus/real-posts/posts.jsonl, or label more "
            "with `gitfeed label`)"
        )
    real = _domain(embedder, real_posts, [post.id for post in real_posts], progress)
    written = _domain(
        embedder,
        written_posts,
        [post.id.rsplit("-", 1)[0] for post in written_posts],
        progress,
        embed_all=True,
    )

    gate_real = hashed_matrix(real.texts, np.hstack([real.lexicon * LEX_SCALE, real.links]))
    gate_written = hashed_matrix(written.texts, np.hstack([written.lexicon * LEX_SCALE, written.links]))
    xr = real_features(real.embeddings, real.lexicon, real.links, real.readable)
    xw_real = written_features(real.embeddings, real.lexicon, real.links)
    xw = written_features(written.embeddings, written.lexicon, written.links)
    w_real = real.weights()
    readable_written = written.readable

    models: dict[str, TopicModel] = {}
    cv: dict[str, dict[str, float]] = {}
    for topic in TOPICS:
        y_real, y_written = real.y(topic), written.y(topic)
        folds = _folds(y_real)
        # First stage.
        extra = (gate_written, y_written, np.full(len(y_written), GATE_WRITTEN_WEIGHT))
        gate_oof = _out_of_fold(gate_real, y_real, w_real, GATE_C, folds, balanced=True, extra=extra)
        gate = _fit(
            vstack([gate_real, gate_written]),
            np.concatenate([y_real, y_written]),
            np.concatenate([w_real, extra[2]]),
            GATE_C,
            balanced=True,
        )
        gate_cut = _gate_cut(y_real, gate_oof)
        passed = gate_oof >= gate_cut

        # Network head on real posts (and the written ones, lightly); written head on readable written posts.
        xr_written = real_features(
            written.embeddings * readable_written[:, None], written.lexicon, written.links, readable_written
        )
        w_light = np.where(y_written == 1, REAL_WRITTEN_POSITIVE_WEIGHT, REAL_WRITTEN_NEGATIVE_WEIGHT)
        real_oof = _out_of_fold(xr, y_real, w_real, REAL_C, folds, extra=(xr_written, y_written, w_light))
        real_head = _fit(
            np.vstack([xr, xr_written]),
            np.concatenate([y_real, y_written]),
            np.concatenate([w_real, w_light]),
            REAL_C,
        )
        # The written head learns from the readable written posts and, lightly, from the readable real
        # ones, so that everyday posts the templates never showed it do not look technical to it.
        wi, ri = np.flatnonzero(readable_written), np.flatnonzero(real.readable)
        w_real_light = w_real[ri] * WRITTEN_REAL_WEIGHT
        written_head = _fit(
            np.vstack([xw[wi], xw_real[ri]]),
            np.concatenate([y_written[wi], y_real[ri]]),
            np.concatenate([np.ones(len(wi)), w_real_light]),
            WRITTEN_C,
        )
        written_oof = np.full(len(y_written), -40.0)
        written_oof[wi] = _out_of_fold(
            xw[wi],
            y_written[wi],
            np.ones(len(wi)),
            WRITTEN_C,
            _folds(y_written[wi], written.groups[wi]),
            extra=(xw_real[ri], y_real[ri], w_real_light),
        )
        written_on_real = np.full(len(y_real), -40.0)
        written_on_real[ri] = _out_of_fold(
            xw_real[ri],
            y_real[ri],
            w_real_light,
            WRITTEN_C,
            _folds(y_real[ri]),
            extra=(xw[wi], y_written[wi], np.ones(len(wi))),
        )
        # Each head's scores on the other's posts come from folds too: both saw some of both.
        real_on_written = np.zeros(len(y_written))
        for train_idx, test_idx in _folds(y_written, written.groups):
            head = _fit(
                np.vstack([xr, xr_written[train_idx]]),
                np.concatenate([y_real, y_written[train_idx]]),
                np.concatenate([w_real, w_light[train_idx]]),
                REAL_C,
            )
            real_on_written[test_idx] = head.decision_function(xr_written[test_idx])

        column = TOPICS.index(topic)
        ruled_real = (
            rules.forced(TOPICS, real.lexicon, real.links)[:, column],
            rules.vetoed(TOPICS, real.lexicon)[:, column],
        )
        ruled_written = (
            rules.forced(TOPICS, written.lexicon, written.links)[:, column],
            rules.vetoed(TOPICS, written.lexicon)[:, column],
        )
        best = _operating_point(
            y_real,
            real_oof,
            written_on_real,
            passed,
            real.readable,
            real.certain(),
            y_written,
            real_on_written,
            written_oof,
            readable_written,
            beta=REAL_F_BETA.get(topic, 1.0),
            precision_floor=REAL_PRECISION_FLOOR.get(topic, 0.0),
            ruled=(ruled_real, ruled_written),
        )
        real_cut, written_cut, floor, f1_real, f1_written = best
        models[topic] = TopicModel(
            _head(gate), gate_cut, _head(real_head), real_cut, _head(written_head), written_cut, floor
        )
        random = np.asarray([post.kind == "random" for post in real.posts])
        cv[topic] = {
            "real_f1_oof": round(f1_real, 4),
            "written_f1_oof": round(f1_written, 4),
            "gate_pass_rate_random_oof": round(float(passed[random].mean()) if random.any() else 0.0, 4),
            "gate_recall_oof": round(float(passed[y_real == 1].mean()) if y_real.any() else 0.0, 4),
            "real_positives": int(y_real.sum()),
            "written_positives": int(y_written.sum()),
        }
    heads = Heads(
        TOPICS,
        models,
        NGRAM_DIM,
        embedder.dim,
        READABLE_LANGUAGES,
        {
            "model": embedder.name,
            "n_real": len(real.posts),
            "n_written": len(written.posts),
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "cv": cv,
        },
    )
    path = heads.save(out_path)
    return TrainReport(
        len(real.posts), len(written.posts), Heads.load(path), path, time.monotonic() - started, cv
    )


def _operating_point(
    y_real,
    real_oof,
    written_on_real,
    passed,
    readable_real,
    certain_real,
    y_written,
    real_on_written,
    written_oof,
    readable_written,
    *,
    beta: float = 1.0,
    precision_floor: float = 0.0,
    ruled: tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[float, float, float, float, float]:  # noqa: ANN001
    """(real cut, written cut, written floor, real F-beta, written F1) maximizing
    real F-beta + WRITTEN_F1_WEIGHT * min(written F1, WRITTEN_F1_CAP) on out-of-fold scores, among the
    points whose real precision reaches `precision_floor` (all points, if none does). `ruled` gives, for
    the real and the written posts, what the rules force in and veto out (`firehose.classify.rules`)."""
    everyone = np.ones(len(y_written), dtype=bool)
    nothing_r, nothing_w = np.zeros(len(y_real), dtype=bool), np.zeros(len(y_written), dtype=bool)
    (force_r, veto_r), (force_w, veto_w) = ruled or ((nothing_r, nothing_r), (nothing_w, nothing_w))
    best = None
    best_any = None
    for real_cut in REAL_CUTS:
        real_route = real_oof >= real_cut
        real_route_w = real_on_written >= real_cut
        for written_cut in WRITTEN_CUTS:
            w_real = readable_real & (written_on_real >= written_cut)
            w_written = readable_written & (written_oof >= written_cut)
            for floor in WRITTEN_FLOORS:
                admitted = force_r | (~veto_r & passed & (real_route | (w_real & (real_oof >= floor))))
                admitted_w = force_w | (~veto_w & (real_route_w | (w_written & (real_on_written >= floor))))
                f_real = _f1(y_real, admitted, certain_real, beta)
                f_written = _f1(y_written, admitted_w, everyone)
                value = f_real + WRITTEN_F1_WEIGHT * min(f_written, WRITTEN_F1_CAP)
                point = (value, float(real_cut), float(written_cut), float(floor), f_real, f_written)
                if best_any is None or value > best_any[0]:
                    best_any = point
                admitted_certain = admitted & certain_real
                precision = (admitted_certain & (y_real == 1)).sum() / max(1, admitted_certain.sum())
                if precision >= precision_floor and (best is None or value > best[0]):
                    best = point
    chosen = best or best_any
    assert chosen is not None
    return chosen[1:]
