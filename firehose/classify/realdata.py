"""Real Bluesky posts with our labels: what the classifier is trained, calibrated and measured on.

The posts themselves are third parties' public posts and are never copied into this repository: they
are read in place from `shared/corpus/real-posts/posts.jsonl` (beside the checkout). Our labels live
here, keyed by id (`data/real_labels.jsonl`, rules in `data/LABELS.md`). A fixed share of the posts,
chosen by a hash of the id, is the test split: training never reads it, and every figure of
`gitfeed eval --real` is measured on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from firehose.classify.evaluate import EvalDataError, LabeledPost, jsonl_rows

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_LABELS_PATH = DATA_DIR / "real_labels.jsonl"
CORPUS_RELATIVE = Path("shared") / "corpus" / "real-posts" / "posts.jsonl"
TEST_SHARE_PERCENT = 35
SPLITS = ("train", "test", "all")


def split_of(post_id: str) -> str:
    """'test' for a fixed TEST_SHARE_PERCENT of ids (by sha-256 of the id), else 'train'."""
    bucket = int.from_bytes(hashlib.sha256(post_id.encode("utf-8")).digest()[:8], "big") % 100
    return "test" if bucket < TEST_SHARE_PERCENT else "train"


def default_posts_path(start: Path | None = None) -> Path | None:
    """`shared/corpus/real-posts/posts.jsonl` in the checkout's parent (or the current directory's)."""
    here = Path(__file__).resolve()
    candidates = [base / CORPUS_RELATIVE for base in (here.parents[3], Path.cwd().resolve().parent)]
    if start is not None:
        candidates.insert(0, start / CORPUS_RELATIVE)
    return next((path for path in candidates if path.is_file()), None)


def load_real(
    posts_path: Path | str,
    labels_path: Path | str = DEFAULT_LABELS_PATH,
    *,
    split: str = "all",
    topics: Sequence[str] = ("github", "ml"),
) -> list[LabeledPost]:
    """The labeled real posts of one split; a post without a label line is not returned."""
    if split not in SPLITS:
        raise EvalDataError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    labels = _read_labels(Path(labels_path), topics)
    out = []
    for _, row in jsonl_rows(posts_path):
        post_id = str(row.get("id"))
        if post_id not in labels or (split != "all" and split_of(post_id) != split):
            continue
        names, uncertain = labels[post_id]
        record = row.get("record") or {}
        out.append(LabeledPost(post_id, names, record, kind=str(row.get("kind", "")), uncertain=uncertain))
    return out


def _read_labels(path: Path, topics: Sequence[str]) -> dict[str, tuple[frozenset[str], bool]]:
    out = {}
    for number, row in jsonl_rows(path):
        names = row.get("labels", []) if isinstance(row, dict) else None
        if not isinstance(names, list) or set(names) - set(topics) or "id" not in row:
            raise EvalDataError(f"{path}:{number}: expected {{id, labels: a list of {list(topics)}}}")
        out[str(row["id"])] = (frozenset(names), bool(row.get("uncertain", False)))
    return out


OPERATOR_KIND = "operator"


def load_operator(conn: Any, *, split: str = "all") -> list[LabeledPost]:
    """The operator's labels from the store (`gitfeed label`) as labeled posts of kind "operator", split by
    the same hash of the id (the post's uri) as the real posts: `gitfeed train --db` reads the train
    split, `gitfeed eval --db` the test split. Not a random sample: they are the posts the classifier was
    least sure of, the ones subscribers complained about and a sample of admissions."""
    from firehose.store.labels import all_labels

    if split not in SPLITS:
        raise EvalDataError(f"split {split!r} is not one of {', '.join(SPLITS)}")
    return [
        LabeledPost(label.uri, label.labels, label.record, kind=OPERATOR_KIND)
        for label in all_labels(conn)
        if split == "all" or split_of(label.uri) == split
    ]
