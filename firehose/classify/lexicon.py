"""Named term groups that say "this post is about AI" or "about GitHub" in the network's languages.

A classifier trained on a hundred real on-topic posts cannot learn from them alone that "KI", "IA",
"人工知能" and "ChatGPT" all mean AI; these groups carry that knowledge into the first stage and the
heads as one 0/1 feature each, whatever language the post is in. They are written from what the words
mean, not from the labeled posts; the heads learn how much each group counts (a bare #AIart tag, for
instance, is weak evidence: sharing AI art without saying anything about it is not `ml`).

Each group is one compiled regex (its alternatives merged into a trie by `factor_alternatives`, which
matches the same and runs about twice as fast); `lexicon_features(text)` runs them all. The order of
GROUPS is part of the heads file format: heads record the names and refuse to load against other groups.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

_CASE = re.IGNORECASE

# (name, pattern, flags). Case-sensitive groups match acronyms that are ordinary words in lower case.
_GROUPS: tuple[tuple[str, str, int], ...] = (
    # "AI" as a word or compound: AI, A.I., AI-generated, AIs, "ＡＩ"; not inside handles or hashtags.
    ("ai_acronym", r"(?<![\w#@.])(?:A\.I\.|AIs?|ＡＩ|Ai(?=[- ]?generat))(?![\w])|(?<![\w#@])AI[-‐](?=\w)", 0),
    # The same acronym in other languages: IA (fr, es, pt, it, ro), KI (de, nl, da, no, sv), ИИ, ШІ.
    ("ai_acronym_intl", r"(?<![\w#@.])(?:IA|KI|ИИ|ШІ|I\.A\.)(?![\w])|(?<![\w#@])(?:IA|KI)[-‐](?=\w)", 0),
    (
        "ai_phrase",
        r"artificial[- ]intelligen\w*|intelig[eê]ncia artificial|inteligencia artificial|intelligence "
        r"artificielle|intelligenza artificiale|k[üu]nstliche\w* intelligenz|kunstmatige intelligentie|"
        r"kunstig intelligens|artificiell intelligens|keinoäly|sztuczn\w* inteligencj\w*|"
        r"umělá inteligence|yapay zek[aâ]|искусствен\w* интеллект\w*|изкуствен\w* интелект\w*|"
        r"штучн\w* інтелект\w*|人工知能|人工智能|인공지능|生成AI|生成ＡＩ|生成系AI|"
        r"\bgenerative (?:ai|models?)\b|\bgen ?ai\b|\bai[- ](?:generated|art(?:ist)?s?|slop|models?|"
        r"tools?|companies|company|bros?|hype|bubble|images?|videos?|voices?|training|safety|"
        r"regulation|act|chatbots?|assistants?|agents?|features?|startups?|race|industry|ethics)\b",
        _CASE,
    ),
    (
        "ai_products",
        r"\b(?:chat ?gpt\w*|gpt-?[2345]\w*|gpt-?4o|openai|open ai|anthropic|claude(?: ai| \d| sonnet| opus|"
        r" haiku)?|gemini (?:ai|pro|ultra|flash)|google gemini|google bard|copilot|grok|x?ai's|deepseek|"
        r"mistral ai|llama ?[23]\w*|midjourney|stable ?diffusion|dall-?e\s?\d?|sora|perplexity ai|"
        r"character\.ai|replika|hugging ?face|nvidia|sam altman|altman|chatbot\w*|chat ?bots?|"
        r"чат-?бот\w*|чатбот\w*|チャットGPT)\b",
        _CASE,
    ),
    # Claude / Gemini / Grok alone are names, words and a constellation: only the company-ish forms above.
    (
        "ml_terms",
        r"\b(?:machine[- ]learning|deep[- ]learning|neural (?:net\w*|networks?)|reinforcement learning|"
        r"llms?|large language models?|language models?|foundation models?|diffusion models?|"
        r"transformer models?|fine-?tun(?:e|ed|ing) (?:a |the )?(?:model|llm)s?|training data|"
        r"trained on (?:our|your|my|their|user|public|the)\b|train(?:ing)? (?:ai|models?|llms?)|"
        r"(?:ai|ml) (?:research|researchers?|papers?|engineers?|models?)|datasets?|embeddings?|"
        r"inference|hallucinat\w+|deepfakes?|prompt engineer\w*|prompts? (?:for|to) (?:ai|chatgpt)|"
        r"apprentissage automatique|aprendizaje automático|aprendizado de máquina|maschinelles lernen|"
        r"datos de entrenamiento|dados de treinamento|données d'entraînement|trainingsdaten|"
        r"pesos del modelo|pesos do modelo|poids du modèle|modellgewichte|"
        r"機械学習|深層学習|ディープラーニング|大規模言語モデル|学習データ|機器學習|机器学习|머신러닝|딥러닝)\b",
        _CASE,
    ),
    # Practitioners' vocabulary: training, evaluation, serving and research words that rarely mean anything
    # else, in English and the network's larger languages.
    (
        "ml_practice",
        r"\b(?:mlops|pre-?train\w*|fine-?tun\w+|rlhf|retrieval[- ]augmented|"
        # acronyms that are words elsewhere (German "wer", French "bleu", a rag, Lora): in capitals only
        r"(?-i:DPO|GRPO|PPO|SFT|RAG|WER|BLEU|AUC|JAX|T5|LoRAs?|QLoRA|qlora|loras?)|"
        r"checkpoints?|training (?:run|job|loop|set)s?|(?:test|validation|dev|held-?out) sets?|"
        r"eval(?:uation)? (?:set|suite|harness)s?|evals\b|"
        r"benchmarks? (?:score|result)s?|leaderboards?|overfit\w*|underfit\w*|regulari[sz]ation|dropout|"
        r"learning rates?|lr (?:decay|schedule|warmup)|warmup steps|batch size|gradient (?:descent|"
        r"clipping|accumulation)|backprop\w*|loss (?:curve|spike|function)s?|cross-?entropy|"
        r"tokeni[sz]\w+|attention (?:heads?|maps?|mechanism|sinks?)|self-?attention|flash ?attention|"
        r"kv[- ]cache|quantiz\w+|gguf|ggml|q4_k_m|exl2|awq|gptq|bf16|fp16|int8|vllm|llama\.cpp|ollama|"
        r"pytorch|tensorflow|keras|scikit-learn|sklearn|xgboost|lightgbm|kaggle|hugging ?face|"
        r"transformers library|bert\w*|roberta|whisper model|stable baselines|sentencepiece|"
        r"classifiers?|regression models?|random forests?|gradient boosting|feature (?:store|engineering)|"
        r"data (?:leakage|drift|labeling|labelling)|label(?:ed|led)? data|annotat\w+ data|"
        r"precision and recall|f1[- ]score|perplexity|interpretability|mechanistic|"
        r"alignment research|ai safety|model (?:weights|cards?|collapse|eval\w*|serving|training|"
        r"distillation|merging)|open[- ]weights?|\d+b (?:model|params|parameters)|speculative decoding|"
        r"mixture of experts|moe|multimodal|vision[- ]language|text-to-(?:image|video|speech)|"
        r"computer vision|nlp|natural language processing|recommender (?:system|model)s?|"
        r"prompt injection|jailbreak\w*|agentic|ai agents?|embeddings?|vector (?:db|database|search)|"
        r"taux d'apprentissage|entraînement du modèle|réseaux? de neurones|redes? neuronal\w*|"
        r"neuronale\w* netz\w*|sprachmodell\w*|modelos? de lenguaje|modelos? de linguagem|"
        r"modèles? de langage|学習率|損失関数|拡散モデル|言語モデル|ファインチューニング|推論モデル|"
        # methods, metrics and failure modes of model training, named by their textbook names
        r"label smoothing|class imbalance|imbalanced (?:data|dataset|classes)|(?:concept|model) drift|"
        r"distribution shift|out-of-distribution|hyper-?param\w*|hiperpar[aá]metros?|hyperparamètres?|"
        r"ablation stud(?:y|ies)|weight decay|early stopping|data augmentation|cross-validat\w+|k-fold|"
        r"confusion matri(?:x|ces)|roc curves?|auroc|(?:precision|recall)@(?:\d+|k)|ndcg|(?-i:MRR)|"
        r"mean average precision|logits|softmax|activation functions?|(?:sparse |variational )?autoencoders?|"
        r"contrastive learning|(?:self-|semi-|un)?supervised learning|self-supervised|few-shot|zero-shot|"
        r"in-context learning|synthetic data|gradient checkpointing|mixed precision|distributed training|"
        r"(?:data|model|tensor|pipeline) parallelism|(?-i:TPUs?|XLA)|speech recognition|object detection|"
        r"image (?:classification|segmentation)|semantic segmentation|sentiment analysis|"
        r"named entity recognition|word2vec|wav2vec\w*|seq2seq|encoder-decoder|(?-i:LSTMs?)|convolutional|"
        r"recurrent neural|generative adversarial|beam search|reward models?|q-learning|policy gradients?|"
        r"scaling laws?|knowledge distillation|rerank\w*|re-rank\w*|"
        # the models a team trains for one task, and the habits of running them
        r"(?:vision|speech|speech-to-text|transcription|recommendation|ranking|classification|detection|"
        r"segmentation|predictive|churn|forecasting|embedding) models?|transformer architectures?|"
        r"(?:set|fix|fixed|log|logged|seed) (?:your |the |all |our )?random seeds?|bias audits?|"
        r"algorithmic bias|input distributions?|prompt templates?|eval scores?|classifieurs?|"
        r"(?-i:ML) (?:systems?|pipelines?|platforms?|infra\w*|teams?|engineers?|ops|models?)|"
        r"学習スクリプト|学習済みモデル|"
        # open-weight model families and ML libraries whose names are not ordinary words
        r"qwen\w*|mixtral|gemma ?\d\w*|llava|langchain|llama ?index|(?-i:DSPy)|mlflow|wandb|deepspeed|"
        r"tensorrt|onnx|unsloth|"
        r"ニューラルネット\w*|强化学习|神经网络|大模型|语言模型)\b",
        _CASE,
    ),
    ("slop", r"\bslop\b|\bai-?free\b|\bno ?ai\b|#noai\b|\banti-?ai\b|\bnot ai\b", _CASE),
    (
        "ai_art_tag",
        r"#(?:ai ?art\w*|aiイラスト\w*|ai画像|aigenerated\w*|midjourney\w*|stablediffusion\w*|"
        r"aiartwork\w*|aiartcommunity|generativeart|dalle\w*|aigirl\w*)",
        _CASE,
    ),
    ("arxiv", r"\barxiv\b|\bopenreview\b|\bneurips\b|\bicml\b|\biclr\b|\bcvpr\b|\bacl ?20\d\d\b", _CASE),
    # GitHub: the word, its products, and the shape of trending-repository bot posts ("owner / repo ★123").
    # GitHub by name, or by a product or command only GitHub has (Dependabot, Codespaces, CODEOWNERS, gh).
    (
        "github_word",
        r"github|ギットハブ|dependabot|codespaces?\b|codeowners|"
        r"\bgh (?:actions?|pr|repo|issue|run|workflow|release|gist|api|auth|extension|cli)\b",
        _CASE,
    ),
    # A repository's star count (trending-repository bots): a thousand or more, or "12.3k"; not "5 stars".
    (
        "github_stars",
        r"(?:★|⭐️?|🌟)\s?(?:\d{1,3}(?:[,.]?\d{3})+|\d+(?:\.\d)?k)\b|\b(?:\d{1,3}(?:,?\d{3})+|\d+(?:\.\d)?k)"
        r" (?:github )?stars\b",
        _CASE,
    ),
    # GitHub's way of working, which LABELS.md counts as GitHub: pull requests, a PR merged, reviewed,
    # opened or sent (also fr/es/pt "une/un/um PR", ja プルリク and "PRを出す/送る"), an issue opened on a
    # project, an issue tracker or template, squash merges, the contribution graph, repositories starred,
    # and Copilot (GitHub's) at work in code. Not "PR" alone (press, a runner's record), not an issue of a
    # magazine, not Microsoft's Copilot in an office suite or a pilot's co-pilot.
    (
        "github_flow",
        r"\bpull requests?\b|\bPRs?\b.{0,40}\b(?:merged|reviewed|approved)\b|"
        r"\b(?:merged|reviewed|approved|opened)\b.{0,25}\bPRs?\b|\bPR (?:review|comments?|merges?)\b|"
        r"\b(?:reviewing|review|sent|send|submitted|submit|opened|open|filed) (?:a|the|my|this|that|"
        r"your|their|our|an? \w+) PRs?\b|\b(?:une|un|um|uma) PR\b|プルリク|PRを(?:出|送|作|マージ)|"
        r"\b(?:opened|filed|open|file|raised) (?:an|a new|the) (?:github )?issue (?:on|in|against|for) "
        r"(?:my|our|the|your|their|this|that|its)\b|\bsquash[- ]merg\w*|\bcontribution graphs?\b|"
        r"\bissue (?:tracker|template)s?\b|\bstarred \d+ repos\b|"
        r"\bcopilot\b.{0,50}\b(?:autocomplet\w*|completions?|code review|PRs?|pull requests?|variable|"
        r"functions?|IDE|VS ?Code|neovim|commit messages?)\b|"
        r"\b(?:autocomplet\w*|completions?|my IDE|VS ?Code|neovim)\b.{0,50}\bcopilot\b|"
        r"Copilot(?:の|が|で|に).{0,6}(?:コード|補完)",
        _CASE,
    ),
    (
        "code_review",
        r"\b(?:pull requests?|PRs?|merged|commits?|forks?|repos?|repositor(?:y|ies)|open[- ]source|"
        r"issue #\d+|changelog|release notes|v\d+\.\d+(?:\.\d+)?)\b",
        0,
    ),
)

# Contexts where AI's words mean something else: the heads learn to discount the AI groups beside them.
_GROUPS += (
    (
        "crypto_context",
        r"\b(?:crypto\w*|memecoins?|(?:ai|agent) (?:tokens?|coins?)|airdrops?|presale|staking|solana|"
        r"bitcoin|btc|ethereum|altcoins?|bull run|whitelist|rug ?pull\w*|rugged|to the moon)\b"
        r"|\$[A-Z]{2,6}\b",
        _CASE,
    ),
    (
        "aviation_context",
        r"\b(?:cockpit|captain|pilot|first officer|landing|landed|flight|runway|airline|turbulence|"
        r"rally stage|co-?driver|pace notes)\b",
        _CASE,
    ),
)

GROUPS: tuple[str, ...] = tuple(name for name, _, _ in _GROUPS)
_QUANT_START = "?*+{"


def _atoms(pattern: str) -> list[list[str]]:
    """The top-level alternatives of a regex source, each a list of atoms (with their quantifiers)."""
    alternatives: list[list[str]] = [[]]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "|":
            alternatives.append([])
            i += 1
            continue
        start = i
        if ch == "\\":
            if pattern[i + 1] in "xuUN0123456789":
                raise ValueError(f"unsupported escape in {pattern[i : i + 2]!r}")
            i += 2
        elif ch == "[":
            i += 1
            if i < n and pattern[i] == "^":
                i += 1
            if i < n and pattern[i] == "]":
                i += 1
            while pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
            i += 1
        elif ch == "(":
            depth = 0
            while True:
                c = pattern[i]
                if c == "\\":
                    i += 2
                    continue
                if c == "[":
                    i += 1
                    if pattern[i] == "^":
                        i += 1
                    if pattern[i] == "]":
                        i += 1
                    while pattern[i] != "]":
                        i += 2 if pattern[i] == "\\" else 1
                elif c == "(":
                    depth += 1
                elif c == ")":
                    depth -= 1
                    if depth == 0:
                        i += 1
                        break
                i += 1
        elif ch in _QUANT_START or ch == ")":
            raise ValueError(f"unexpected {ch!r} at {i} in {pattern!r}")
        else:
            i += 1
        if i < n and pattern[i] in _QUANT_START:
            if pattern[i] == "{":
                i = pattern.index("}", i) + 1
            else:
                i += 1
            if i < n and pattern[i] == "?":
                i += 1
        alternatives[-1].append(pattern[start:i])
    return alternatives


def _factored_atom(atom: str) -> str:
    """A plain non-capturing group `(?:...)` with its inside factored; any other atom as it is."""
    if atom.startswith("(?:") and atom.endswith(")") and _atoms(atom)[0] == [atom]:
        return "(?:" + factor_alternatives(atom[3:-1]) + ")"
    return atom


def factor_alternatives(pattern: str) -> str:
    """The same regex with alternatives that begin alike merged: `ab|ac|d` -> `a(?:b|c)|d`.

    Python's engine tries every alternative at every position, and with IGNORECASE it cannot skip one by
    its first letter; merged by their first atoms (a trie), it tries a few. Only the order and grouping
    of alternatives change, so what the regex matches somewhere (what `search` finds or not) is the same.
    """
    return _join([[_factored_atom(a) for a in alt] for alt in _atoms(pattern)])


def _join(alternatives: list[list[str]]) -> str:
    groups: dict[str, list[list[str]]] = {}
    for alt in alternatives:
        groups.setdefault(alt[0] if alt else "", []).append(alt)
    out = []
    for first, members in groups.items():
        if len(members) == 1 or not first:
            out.extend("".join(m) for m in members)
            continue
        rests = [m[1:] for m in members]
        inner = _join(rests)
        out.append(first + ("(?:" + inner + ")" if len(rests) > 1 else inner))
    return "|".join(out)


# A word boundary for scripts written with spaces: Latin, Greek, Cyrillic letters and digits are word
# characters, everything else (CJK, kana, Hangul, punctuation) is not. Python's \b counts kanji and kana as
# word characters, so "RAGを" or "の深層学習" would never match a term inside a Japanese sentence.
_WORD_CHAR = r"[0-9A-Za-z_\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]"
_BOUNDARY = f"(?:(?<!{_WORD_CHAR})|(?!{_WORD_CHAR}))"


def _spaced_script_boundaries(pattern: str) -> str:
    return re.sub(r"(?<!\\)\\b", lambda _: _BOUNDARY, pattern)


_COMPILED = tuple(
    re.compile(_spaced_script_boundaries(factor_alternatives(pattern)), flags)
    for _, pattern, flags in _GROUPS
)


def lexicon_features(text: str) -> np.ndarray:
    """One 0/1 float per group of GROUPS: does the group occur in the text."""
    return np.asarray([bool(rx.search(text)) for rx in _COMPILED], dtype=np.float32)


def lexicon_matrix(texts: Sequence[str]) -> np.ndarray:
    """lexicon_features for many texts, shape (n, len(GROUPS))."""
    if not texts:
        return np.zeros((0, len(GROUPS)), dtype=np.float32)
    return np.stack([lexicon_features(text) for text in texts])


def matched_groups(text: str) -> list[str]:
    """The names of the groups that occur in the text (for `gitfeed explain`)."""
    return [name for name, rx in zip(GROUPS, _COMPILED, strict=True) if rx.search(text)]
