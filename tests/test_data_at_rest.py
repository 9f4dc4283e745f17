"""The database holds the cursor secret and the admin sessions: it and its -wal/-shm files are 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from feedserver.app import create_app
from firehose.store.schema import open_db
from tests.support.seed import server_settings


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the usual default: files 0644 unless asked otherwise
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_database_and_its_wal_files_are_private(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "gitfeed.db"
    db = open_db(path)
    db.conn.execute("INSERT INTO counters (name, value) VALUES ('x', 1)")
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    assert wal.exists() and shm.exists()
    assert [mode(p) for p in (path, wal, shm)] == [0o600, 0o600, 0o600]
    db.conn.close()


def test_the_server_keeps_its_cursor_secret_in_a_private_file(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "served.db"
    open_db(path, create=True).conn.close()  # as `gitfeed serve` does before it starts the app
    app = create_app(server_settings(path))  # generates and stores the cursor secret
    app.state.service.close()
    assert mode(path) == 0o600


def test_an_existing_database_keeps_its_mode(tmp_path: Path, permissive_umask: None) -> None:
    path = tmp_path / "shared.db"
    open_db(path).conn.close()
    path.chmod(0o640)  # the operator's choice (a backup group) is left alone
    open_db(path).conn.close()
    assert mode(path) == 0o640


def test_in_memory_databases_create_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    open_db(":memory:").conn.close()
    assert list(tmp_path.iterdir()) == []
