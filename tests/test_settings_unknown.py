"""An unknown FEEDGEN_* name (a typo) is warned about in one line instead of doing nothing silently."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from firehose.settings import load_settings
from tests.support.seed import make_db


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.chdir(tmp_path)  # no .env but the one a test writes
    for name in list(os.environ):
        if name.upper().startswith("FEEDGEN_"):
            monkeypatch.delenv(name)
    return tmp_path


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "firehose.settings" and r.levelno == logging.WARNING
    ]


def test_unknown_names_in_the_environment_and_dotenv_are_warned_once(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FEEDGEN_PROT", "4000")
    monkeypatch.setenv("FEEDGEN_PORT", "4001")
    dotenv = "FEEDGEN_HOSTNAMEE=feed.example.org\nFEEDGEN_NOTHING_LIKE_IT=1\nOTHER=x\n"
    (clean_env / ".env").write_text(dotenv)
    with caplog.at_level(logging.WARNING):
        settings = load_settings()
    assert settings.port == 4001
    assert warnings_of(caplog) == [
        "ignoring unknown settings: FEEDGEN_HOSTNAMEE (did you mean FEEDGEN_HOSTNAME?), "
        "FEEDGEN_NOTHING_LIKE_IT, FEEDGEN_PROT (did you mean FEEDGEN_PORT?)"
    ]


def test_known_names_raise_no_warning(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("FEEDGEN_PORT", "4001")
    monkeypatch.setenv("feedgen_hostname", "feed.example.org")  # names are case-insensitive
    (clean_env / ".env").write_text("FEEDGEN_THRESHOLD_ML=0.7\n")
    with caplog.at_level(logging.WARNING):
        load_settings()
    assert warnings_of(caplog) == []


def test_a_command_prints_the_warning_as_one_line_on_stderr(clean_env: Path) -> None:
    import subprocess
    import sys

    make_db(clean_env / "g.db").conn.close()
    env = {**os.environ, "FEEDGEN_BAN_LIST": "x", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "gitfeed.cli", "bans", "--db", "g.db"],
        cwd=clean_env, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == ["ignoring unknown setting: FEEDGEN_BAN_LIST"]
