"""Every command turns a bad setting or a missing database into one line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from gitfeed.cli import main

COMMANDS = [["bans"], ["stats"], ["ban", "author", "did:plc:x"], ["explain", "at://x"], ["feed", "github"]]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_a_bad_setting_is_one_line(args: list[str], tmp_path: Path) -> None:
    result = CliRunner().invoke(main, args, env={"FEEDGEN_PORT": "abc"})
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: invalid setting port: Input should be a valid integer, unable to parse string as an integer"
    ]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: a[0])
def test_a_missing_database_is_one_line(args: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    result = CliRunner().invoke(main, [*args, "--db", str(missing)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: no database at {missing} (run `gitfeed ingest` first, or pass --db)"
    ]
