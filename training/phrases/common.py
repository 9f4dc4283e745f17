"""Hand-written phrasings for the labeled dataset (see generate.py and LABELS.md).

Each generator yields specs: {"text", "urls" (links shown in text as {URL}), "card" (uri, title,
description), "reply"}. Slots like {repo} are filled from the pools below.
"""

# ruff: noqa: E501
from __future__ import annotations

from collections.abc import Callable, Iterator

GH, ML = ["github"], ["ml"]
BOTH, NONE = ["github", "ml"], []

# (owner/repo, description, is_ml)
REPOS = [
    ("astral-sh/uv", "An extremely fast Python package and project manager, written in Rust", False),
    ("astral-sh/ruff", "An extremely fast Python linter and code formatter, written in Rust", False),
    ("neovim/neovim", "Vim-fork focused on extensibility and usability", False),
    ("tokio-rs/tokio", "A runtime for writing reliable asynchronous applications with Rust", False),
    ("BurntSushi/ripgrep", "ripgrep recursively searches directories for a regex pattern", False),
    ("sharkdp/bat", "A cat(1) clone with wings", False),
    ("bluesky-social/atproto", "Social networking technology created by Bluesky", False),
    ("bluesky-social/social-app", "The Bluesky Social application for Web, iOS, and Android", False),
    ("pola-rs/polars", "Dataframes powered by a multithreaded, vectorized query engine", False),
    ("duckdb/duckdb", "DuckDB is an analytical in-process SQL database management system", False),
    ("typst/typst", "A new markup-based typesetting system that is powerful and easy to learn", False),
    ("helix-editor/helix", "A post-modern modal text editor", False),
    ("zed-industries/zed", "Code at the speed of thought", False),
    ("denoland/deno", "A modern runtime for JavaScript and TypeScript", False),
    ("oven-sh/bun", "Incredibly fast JavaScript runtime, bundler, test runner, and package manager", False),
    ("withastro/astro", "The web framework for content-driven websites", False),
    ("sveltejs/svelte", "web development for the rest of us", False),
    ("immich-app/immich", "High performance self-hosted photo and video management solution", False),
    ("jellyfin/jellyfin", "The Free Software Media System", False),
    ("home-assistant/core", "Open source home automation that puts local control and privacy first", False),
    ("junegunn/fzf", "A command-line fuzzy finder", False),
    ("jesseduffield/lazygit", "simple terminal UI for git commands", False),
    ("charmbracelet/bubbletea", "A powerful little TUI framework", False),
    ("tldraw/tldraw", "very good whiteboard SDK / infinite canvas SDK", False),
    ("excalidraw/excalidraw", "Virtual whiteboard for sketching hand-drawn like diagrams", False),
    ("simonw/datasette", "An open source multi-tool for exploring and publishing data", False),
    ("python/cpython", "The Python programming language", False),
    ("rust-lang/rust", "Empowering everyone to build reliable and efficient software", False),
    ("golang/go", "The Go programming language", False),
    ("kubernetes/kubernetes", "Production-Grade Container Scheduling and Management", False),
    ("tailwindlabs/tailwindcss", "A utility-first CSS framework for rapid UI development", False),
    ("mkowalski/tomlette", "a tiny TOML parser with good error messages", False),
    ("sarah-builds/skeet-archive", "download and search your own Bluesky posts offline", False),
    ("jpdev/pixel-weather", "a pixel-art weather widget for your menu bar", False),
    ("rivka-h/fastq-tools", "small fast utilities for FASTQ files", False),
    ("tomasz-w/dotfiles", "my dotfiles: zsh, neovim, tmux", False),
    ("ggml-org/llama.cpp", "LLM inference in C/C++", True),
    (
        "vllm-project/vllm",
        "A high-throughput and memory-efficient inference and serving engine for LLMs",
        True,
    ),
    ("huggingface/transformers", "State-of-the-art machine learning for PyTorch, TensorFlow, and JAX", True),
    ("karpathy/nanoGPT", "The simplest, fastest repository for training/finetuning medium-sized GPTs", True),
    ("openai/whisper", "Robust Speech Recognition via Large-Scale Weak Supervision", True),
    ("ollama/ollama", "Get up and running with large language models locally", True),
    ("unslothai/unsloth", "Finetune LLMs 2x faster with 70% less memory", True),
    ("pytorch/pytorch", "Tensors and Dynamic neural networks in Python with strong GPU acceleration", True),
    ("jax-ml/jax", "Composable transformations of Python+NumPy programs", True),
    (
        "facebookresearch/segment-anything",
        "code for running inference with the SegmentAnything Model (SAM)",
        True,
    ),
    ("EleutherAI/lm-evaluation-harness", "A framework for few-shot evaluation of language models", True),
    (
        "microsoft/DeepSpeed",
        "deep learning optimization library for distributed training and inference",
        True,
    ),
    ("scikit-learn/scikit-learn", "machine learning in Python", True),
    ("simonw/llm", "Access large language models from the command-line", True),
    ("UKPLab/sentence-transformers", "State-of-the-Art Text Embeddings", True),
    ("huggingface/trl", "Train transformer language models with reinforcement learning", True),
    ("mlfoundations/open_clip", "An open source implementation of CLIP", True),
    ("lin-lab/sparse-lora", "code for our paper on sparse low-rank adapters", True),
    ("kaito-ml/jp-embed-bench", "a benchmark for Japanese sentence embeddings", True),
    ("dmitri-k/tiny-diffusion", "a 300-line diffusion model you can train on a laptop", True),
]
GH_REPOS = [r for r in REPOS if not r[2]]
ML_REPOS = [r for r in REPOS if r[2]]

ML_MODELS = [
    "Llama 3.1 8B",
    "Qwen2.5-7B",
    "Mistral 7B",
    "Gemma 2 9B",
    "Phi-3-mini",
    "GPT-4o",
    "Claude",
    "DeepSeek-V3",
    "OLMo 2",
    "a 1.3B model",
    "BERT-base",
    "CLIP ViT-B/32",
    "Whisper large-v3",
    "SmolLM2",
    "Mixtral 8x7B",
]
ML_THINGS = [
    "LoRA",
    "DPO",
    "RLHF",
    "speculative decoding",
    "KV cache quantization",
    "mixture of experts",
    "flash attention",
    "contrastive pretraining",
    "retrieval-augmented generation",
    "distillation",
    "sparse autoencoders",
    "chain-of-thought prompting",
    "in-context learning",
    "reward models",
    "tokenizer-free models",
    "diffusion transformers",
    "early stopping",
    "label smoothing",
]
LANGS = ["Rust", "Go", "TypeScript", "Python", "Zig", "Elixir", "Kotlin", "Swift", "C++", "OCaml"]
VERSIONS = ["0.4.0", "1.0", "2.3.1", "v0.9", "1.12", "3.0.0-beta.2", "0.21", "v5.1"]


def repo_card(repo: str, desc: str) -> tuple[str, str, str]:
    return (
        f"https://github.com/{repo}",
        f"GitHub - {repo}: {desc}",
        f"{desc}. Contribute to {repo} development by creating an account on GitHub.",
    )


def release_card(repo: str, ver: str) -> tuple[str, str, str]:
    return (
        f"https://github.com/{repo}/releases/tag/{ver}",
        f"Release {ver} · {repo}",
        "What's Changed: bug fixes, performance improvements and new contributors. Full Changelog on GitHub.",
    )


def issue_card(repo: str, title: str, number: int) -> tuple[str, str, str]:
    return (
        f"https://github.com/{repo}/issues/{number}",
        f"{title} · Issue #{number} · {repo}",
        f"{title}. Steps to reproduce, expected behavior and logs attached.",
    )


def pr_card(repo: str, title: str, number: int, user: str) -> tuple[str, str, str]:
    return (
        f"https://github.com/{repo}/pull/{number}",
        f"{title} by {user} · Pull Request #{number} · {repo}",
        f"{title}. This PR closes an open issue and adds tests.",
    )


ARXIV = [
    (
        "2406.01234",
        "Scaling Laws for Sparse Mixture-of-Experts Language Models",
        "We study how loss scales with the number of experts and tokens, and find compute-optimal routing configurations.",
    ),
    (
        "2405.11873",
        "Small Models, Big Context: Efficient Long-Context Fine-Tuning",
        "We propose a recipe for extending the context window of 1B-parameter transformers at low cost.",
    ),
    (
        "2407.20011",
        "On the Contamination of Reasoning Benchmarks",
        "We find that many popular evaluation sets leaked into pretraining corpora and propose a decontaminated split.",
    ),
    (
        "2409.00321",
        "Preference Optimization Without a Reward Model",
        "A simple offline objective matches RLHF on chat benchmarks with a fraction of the compute.",
    ),
    (
        "2410.04410",
        "Vision Transformers Need Registers, Revisited",
        "We analyze artifact tokens in ViT feature maps and show a fix at inference time.",
    ),
    (
        "2411.09876",
        "Learned Sparse Retrieval for Multilingual Search",
        "We train sparse encoders that beat dense embeddings on low-resource languages.",
    ),
    (
        "2501.02288",
        "Diffusion Models as Data Augmenters for Medical Imaging",
        "Synthetic images from a fine-tuned diffusion model improve a segmentation network on small datasets.",
    ),
    (
        "2502.13317",
        "What Do Attention Heads Attend To in Code Models?",
        "A mechanistic study of induction heads in models trained on source code.",
    ),
    (
        "2503.07799",
        "Quantization Error Is Not Uniform Across Layers",
        "Layer-wise sensitivity analysis for 4-bit weight quantization of large language models.",
    ),
    (
        "2504.05512",
        "Agents That Read the Manual: Tool Use from Documentation",
        "LLM agents that retrieve API documentation solve more tasks than agents that rely on memorized knowledge.",
    ),
    (
        "2505.10101",
        "Forecasting Weather with Graph Neural Networks at 0.25 Degrees",
        "A learned model that matches numerical weather prediction on medium-range forecasts.",
    ),
    (
        "2506.04321",
        "Data Pruning for Pretraining: Less Is Sometimes More",
        "Selecting 40% of a web corpus by perplexity yields better downstream accuracy.",
    ),
]

HF = [
    ("meta-llama/Llama-3.1-8B-Instruct", "model"),
    ("Qwen/Qwen2.5-Coder-7B", "model"),
    ("HuggingFaceTB/SmolLM2-1.7B", "model"),
    ("datasets/HuggingFaceFW/fineweb-edu", "dataset"),
    ("datasets/allenai/c4", "dataset"),
    ("sentence-transformers/all-MiniLM-L6-v2", "model"),
    ("spaces/open-llm-leaderboard/open_llm_leaderboard", "space"),
    ("mistralai/Mistral-7B-v0.3", "model"),
]


def hf_card(path: str) -> tuple[str, str, str]:
    name = path.removeprefix("datasets/").removeprefix("spaces/")
    return (
        f"https://huggingface.co/{path}",
        f"{name} · Hugging Face",
        "We're on a journey to advance and democratize artificial intelligence through open source and open science.",
    )


Spec = dict
Gen = tuple[str, list[str], str, Callable[[], list[Spec]]]


def literal(
    name: str,
    labels: list[str],
    lines: list[str],
    lang: str = "en",
    chunk: int = 4,
    reply: bool | None = None,
) -> Iterator[Gen]:
    """Plain lines, grouped in chunks so the split takes a few together."""
    for start in range(0, len(lines), chunk):
        part = lines[start : start + chunk]
        extra = {} if reply is None else {"reply": reply}
        yield (
            f"{name}{start // chunk}",
            labels,
            lang,
            (lambda part=part, extra=extra: [{"text": t, **extra} for t in part]),
        )


def templated(
    name: str,
    labels: list[str],
    templates: list[str],
    fill: Callable[[str], Spec],
    lang: str = "en",
    times: int = 3,
) -> Iterator[Gen]:
    """Each template is its own group, filled `times` times."""
    for index, template in enumerate(templates):
        yield f"{name}{index}", labels, lang, (lambda t=template: [fill(t) for _ in range(times)])
