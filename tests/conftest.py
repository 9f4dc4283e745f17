"""Shared fixtures: real SQLite files in tmp dirs, paths to ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    """../shared beside the checkout; CI always has it."""
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is absent: the shared corpus lives beside the checkout")
    return SHARED


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "gitfeed.db"


# --- classifier (issue 3): the real model, loaded once per session --------------------------------
@pytest.fixture(scope="session")
def classify_settings():
    """Settings for the classifier tests: the packaged model on CPU, 2 threads, offline."""
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    from firehose.settings import load_settings

    return load_settings(device="cpu", embed_threads=2)


@pytest.fixture(scope="session")
def classify_scorer(classify_settings):
    """The shipped heads over the packaged all-MiniLM-L6-v2 (the CLI in-process reuses this model)."""
    from firehose.classify import build_scorer

    return build_scorer(classify_settings)
