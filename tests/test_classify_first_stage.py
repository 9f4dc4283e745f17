"""The first stage's fast paths give what their plain reference implementations give, on real posts.

`hashed_ngrams` (continued crc32, ASCII byte slices) against the straightforward version it replaced,
`Heads.gate_logits` (one bincount per topic) against a sum per post, and the lexicon's factored regexes
against the patterns as written, over every real post of
shared/corpus/real-posts (read in place) and the written data; skipped when the corpus is absent.
"""

from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from firehose.classify.features import WORD, embed_text, hashed_ngrams, link_matrix
from firehose.classify.heads import DEFAULT_HEADS_PATH, LEX_SCALE, Heads
from firehose.classify.lexicon import lexicon_matrix
from firehose.classify.realdata import DATA_DIR, default_posts_path


def reference_hashed_ngrams(text: str, dim: int) -> list[int]:
    lowered = text.lower()
    words = WORD.findall(lowered)
    grams = [f"w:{word}" for word in words]
    grams += [f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    squashed = " ".join(words)
    grams += [f"c:{squashed[i : i + 4]}" for i in range(max(0, len(squashed) - 3))]
    return sorted({zlib.crc32(gram.encode("utf-8")) % dim for gram in grams})


def reference_gate_logits(heads: Heads, texts, lexicon, links) -> np.ndarray:  # noqa: ANN001
    out = np.zeros((len(texts), len(heads.topics)))
    buckets = [reference_hashed_ngrams(text, heads.ngram_dim) for text in texts]
    dense = np.hstack([lexicon * LEX_SCALE, links]).astype(np.float32)
    for col, topic in enumerate(heads.topics):
        gate = heads.models[topic].gate
        out[:, col] = [gate.w[row].sum() for row in buckets]
        out[:, col] += dense @ gate.w[heads.ngram_dim :] + gate.b
    return out


@pytest.fixture(scope="module")
def records() -> list[dict]:
    path = default_posts_path()
    if path is None:
        pytest.skip("shared/corpus/real-posts is not beside the checkout")
    out = [json.loads(line)["record"] for line in path.open(encoding="utf-8") if line.strip()]
    for name in ("fresh.jsonl",):
        out += [json.loads(line)["record"] for line in (DATA_DIR / name).open(encoding="utf-8")]
    edge = ["", "x", "abc", "ab cd", "İstanbul ſlop ÉTÉ", "日本語のテキスト", "a" * 3000, "🙂 " * 50]
    return out + [{"text": text} for text in edge]


@pytest.fixture(scope="module")
def texts(records: list[dict]) -> list[str]:
    return [embed_text(record) for record in records]


def test_hashed_ngrams_equals_the_reference(texts: list[str]) -> None:
    for dim in (2**18, 1000):
        assert [hashed_ngrams(t, dim) for t in texts] == [reference_hashed_ngrams(t, dim) for t in texts]


def test_gate_logits_equal_the_reference(records: list[dict], texts: list[str]) -> None:
    heads = Heads.load(DEFAULT_HEADS_PATH)
    lexicon, links = lexicon_matrix(texts), link_matrix(records)
    fast = heads.gate_logits(texts, lexicon, links)
    reference = reference_gate_logits(heads, texts, lexicon, links)
    np.testing.assert_allclose(fast, reference, rtol=1e-5, atol=1e-5)
    assert (heads.passes(fast) == heads.passes(reference)).all()


def test_factored_lexicon_matches_as_the_written_patterns(texts: list[str]) -> None:
    import re

    from firehose.classify import lexicon

    for (name, pattern, flags), fast in zip(lexicon._GROUPS, lexicon._COMPILED, strict=True):
        written = re.compile(lexicon._spaced_script_boundaries(pattern), flags)
        assert [bool(fast.search(t)) for t in texts] == [bool(written.search(t)) for t in texts], name


@pytest.mark.parametrize(
    ("text", "group", "found"),
    [
        ("これは深層学習です", "ml_terms", True),  # a term inside a Japanese sentence, no spaces around it
        ("社内文書でRAGを組んでみた", "ml_practice", True),
        ("딥러닝을 공부하고 있어요", "ml_terms", True),
        ("the main thing", "ai_acronym", False),  # inside Latin words a boundary is still a boundary
        ("Wer hat das gemacht?", "ml_practice", False),  # German "who", not word error rate
        ("le ciel est bleu", "ml_practice", False),  # French "blue", not the BLEU score
        ("our WER dropped to 4%", "ml_practice", True),
        ("Lora went home early", "ml_practice", False),
        ("trained a lora on my sketches", "ml_practice", True),
        ("gh pr checkout 1234", "github_word", True),
        ("Dependabot opened 14 PRs overnight", "github_word", True),
        ("vllm merged my PR today", "github_flow", True),
        ("new 5k PR this morning!", "github_flow", False),  # a runner's personal record
    ],
)
def test_lexicon_words_in_every_script(text: str, group: str, found: bool) -> None:
    from firehose.classify.lexicon import matched_groups

    assert (group in matched_groups(text)) is found


@pytest.mark.parametrize(
    ("pattern", "factored"),
    [
        ("ab|ac|d", "a(?:b|c)|d"),
        (r"\b(?:lora|lr (?:decay|schedule)|llms?)\b", r"\b(?:l(?:ora|r (?:decay|schedule)|lms?))\b"),
        ("x[ab]c|x[ab]d|x", "x(?:[ab](?:c|d)|)"),
        ("a?b|a?c|a", "a?(?:b|c)|a"),
    ],
)
def test_factor_alternatives(pattern: str, factored: str) -> None:
    from firehose.classify.lexicon import factor_alternatives

    assert factor_alternatives(pattern) == factored
