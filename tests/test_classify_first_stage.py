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
        ("spent the morning reviewing a PR that touches every file", "github_flow", True),
        ("j'ai ouvert une PR pour corriger la doc", "github_flow", True),
        ("バグ修正のPRを出しました", "github_flow", True),
        ("someone opened an issue on my tiny lib asking for windows support", "github_flow", True),
        ("the new issue of the magazine is out", "github_flow", False),
        ("squash merge or rebase? fight", "github_flow", True),
        ("my contribution graph is all green this year", "github_flow", True),
        ("copilot autocompleted a whole function from the name alone", "github_flow", True),
        ("Copilotのコード補完が速い", "github_flow", True),
        ("copilot in word rewrote my cover letter", "github_flow", False),  # Microsoft's, in an office suite
        ("the co-pilot made the announcement before landing", "github_flow", False),
        ("our PR team sent a press release", "github_flow", False),
    ],
)
def test_lexicon_words_in_every_script(text: str, group: str, found: bool) -> None:
    from firehose.classify.lexicon import matched_groups

    assert (group in matched_groups(text)) is found


# Practitioners' terms (ml_practice) and training words in other languages (ml_terms), each with a case;
# where a word has an everyday sense, a case for that sense too.
ML_TERM_CASES = [
    ("the new speech model transcribes calls", "ml_practice", True),
    ("a small vision model on the edge device", "ml_practice", True),
    ("the fashion model walked the runway", "ml_practice", False),
    ("a role model for the team", "ml_practice", False),
    ("set your random seeds before you compare runs", "ml_practice", True),
    ("the transformer architecture is from 2017", "ml_practice", True),
    ("the transformer station hums at night", "ml_practice", False),
    ("our bias audit found problems", "ml_practice", True),
    ("on-call for an ML system is rough", "ml_practice", True),
    ("add 200 ml of milk", "ml_practice", False),
    ("notre classifieur confond tout", "ml_practice", True),
    ("学習スクリプトも公開しました", "ml_practice", True),
    ("datasette is a tool for exploring data", "ml_terms", False),  # a word that starts like one
    ("label smoothing helped a bit", "ml_practice", True),
    ("accuracy hides a class imbalance", "ml_practice", True),
    ("resampling an imbalanced dataset", "ml_practice", True),
    ("we watch for concept drift in production", "ml_practice", True),
    ("model drift after the holidays", "ml_practice", True),
    ("robust to distribution shift", "ml_practice", True),
    ("flags out-of-distribution inputs", "ml_practice", True),
    ("a hyperparameter sweep over the weekend", "ml_practice", True),
    ("ajustamos los hiperparámetros", "ml_practice", True),
    ("les hyperparamètres par défaut", "ml_practice", True),
    ("the ablation study in section 4", "ml_practice", True),
    ("the cardiac ablation went well", "ml_practice", False),
    ("weight decay of 0.1", "ml_practice", True),
    ("early stopping at epoch 12", "ml_practice", True),
    ("data augmentation with random crops", "ml_practice", True),
    ("5-fold cross-validation", "ml_practice", True),
    ("k-fold splits by user", "ml_practice", True),
    ("the confusion matrix says otherwise", "ml_practice", True),
    ("plot the ROC curve", "ml_practice", True),
    ("AUROC of 0.91", "ml_practice", True),
    ("recall@10 and precision@k", "ml_practice", True),
    ("total recall@someone", "ml_practice", False),
    ("nDCG is worth the trouble", "ml_practice", True),
    ("MRR went up", "ml_practice", True),
    ("mean average precision on COCO", "ml_practice", True),
    ("print the logits", "ml_practice", True),
    ("a softmax over the vocabulary", "ml_practice", True),
    ("swap the activation function", "ml_practice", True),
    ("sparse autoencoders find features", "ml_practice", True),
    ("a variational autoencoder", "ml_practice", True),
    ("contrastive learning on image pairs", "ml_practice", True),
    ("self-supervised pretext tasks", "ml_practice", True),
    ("semi-supervised learning with few labels", "ml_practice", True),
    ("unsupervised learning of clusters", "ml_practice", True),
    ("unsupervised children at the park", "ml_practice", False),
    ("few-shot prompting", "ml_practice", True),
    ("zero-shot transfer", "ml_practice", True),
    ("in-context learning is strange", "ml_practice", True),
    ("we trained on synthetic data", "ml_practice", True),
    ("gradient checkpointing saves memory", "ml_practice", True),
    ("mixed precision halves the memory", "ml_practice", True),
    ("distributed training across 8 nodes", "ml_practice", True),
    ("tensor parallelism and pipeline parallelism", "ml_practice", True),
    ("first run on TPUs", "ml_practice", True),
    ("XLA compile times", "ml_practice", True),
    ("speech recognition for meetings", "ml_practice", True),
    ("object detection on a drone", "ml_practice", True),
    ("image classification baseline", "ml_practice", True),
    ("semantic segmentation masks", "ml_practice", True),
    ("sentiment analysis of reviews", "ml_practice", True),
    ("named entity recognition in contracts", "ml_practice", True),
    ("word2vec still works", "ml_practice", True),
    ("fine-tuned wav2vec2 on Welsh", "ml_practice", True),
    ("a seq2seq baseline", "ml_practice", True),
    ("an encoder-decoder model", "ml_practice", True),
    ("the LSTM baseline", "ml_practice", True),
    ("a convolutional layer", "ml_practice", True),
    ("recurrent neural nets", "ml_practice", True),
    ("generative adversarial networks", "ml_practice", True),
    ("beam search with width 4", "ml_practice", True),
    ("the reward model was gamed", "ml_practice", True),
    ("tabular Q-learning", "ml_practice", True),
    ("policy gradient methods", "ml_practice", True),
    ("scaling laws for data", "ml_practice", True),
    ("knowledge distillation into a small model", "ml_practice", True),
    ("a cross-encoder reranker", "ml_practice", True),
    ("we re-rank the top 100", "ml_practice", True),
    ("Qwen2.5 is good at code", "ml_practice", True),
    ("Mixtral on two GPUs", "ml_practice", True),
    ("Gemma 2 on a laptop", "ml_practice", True),
    ("Gemma scored twice", "ml_practice", False),
    ("LLaVA reads charts", "ml_practice", True),
    ("a LangChain agent", "ml_practice", True),
    ("LlamaIndex for retrieval", "ml_practice", True),
    ("tried DSPy for a week", "ml_practice", True),
    ("runs logged in MLflow", "ml_practice", True),
    ("the wandb dashboard", "ml_practice", True),
    ("DeepSpeed ZeRO stage 3", "ml_practice", True),
    ("export to TensorRT", "ml_practice", True),
    ("export to ONNX", "ml_practice", True),
    ("Unsloth made it fit", "ml_practice", True),
    ("los datos de entrenamiento tenían errores", "ml_terms", True),
    ("dados de treinamento públicos", "ml_terms", True),
    ("les données d'entraînement", "ml_terms", True),
    ("die Trainingsdaten sind öffentlich", "ml_terms", True),
    ("publicamos los pesos del modelo", "ml_terms", True),
    ("os pesos do modelo", "ml_terms", True),
    ("avec les poids du modèle", "ml_terms", True),
    ("die Modellgewichte", "ml_terms", True),
]


@pytest.mark.parametrize(("text", "group", "found"), ML_TERM_CASES)
def test_ml_terms(text: str, group: str, found: bool) -> None:
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
