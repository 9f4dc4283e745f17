"""README is the operator's manual: every setting and every command must be in it."""

from __future__ import annotations

from pathlib import Path

from firehose.settings import Settings
from gitfeed.cli import COMMANDS

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_in_the_settings_table() -> None:
    missing = [
        f"FEEDGEN_{name.upper()}"
        for name in Settings.model_fields
        if f"`FEEDGEN_{name.upper()}`" not in README
    ]
    assert missing == []


def test_every_command_has_an_example() -> None:
    missing = [name for name in COMMANDS if f"gitfeed {name}" not in README]
    assert missing == []
