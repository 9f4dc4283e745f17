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


# --- store backends (issue 14): SQLite and PostgreSQL ----------------------------------------------
@pytest.fixture(scope="session")
def postgres_cluster():
    """A private PostgreSQL cluster on loopback for the session (Debian's binaries; scripts/test.sh
    installs them). Skipped, saying why, only where the binaries are absent."""
    from tests.support.stores import Cluster, postgres_missing

    missing = postgres_missing()
    if missing:
        pytest.skip(f"{missing}: run scripts/setup_e2e.sh to test the PostgreSQL store")
    cluster = Cluster()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster):
    """A fresh, empty PostgreSQL database for one test."""
    url = postgres_cluster.database()
    yield url
    postgres_cluster.drop(url)


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request, tmp_path: Path) -> str:
    """The store a test runs on, once per backend: a SQLite file's path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return str(tmp_path / "gitfeed.db")
    return request.getfixturevalue("postgres_url")


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
