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


def test_train_to_a_place_it_cannot_write_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = CliRunner().invoke(main, ["train", "--out", str(blocker / "heads")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: cannot write {blocker / 'heads' / 'heads.npz'}: Not a directory"
    ]

