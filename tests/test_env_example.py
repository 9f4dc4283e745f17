""".env.example lists every FEEDGEN_* setting with its default and a comment, so it cannot drift from
firehose/settings.py: adding a setting without regenerating it (`python -m scripts.env_example --write`)
fails here."""

from __future__ import annotations

from pathlib import Path

from pydantic import TypeAdapter

from firehose.settings import ENV_PREFIX, Settings
from scripts import env_example

ROOT = Path(__file__).resolve().parents[1]


def test_env_example_lists_every_setting_with_its_default_and_a_comment() -> None:
    shown = env_example.parse((ROOT / ".env.example").read_text())
    expected = env_example.defaults()
    fix = "run: python -m scripts.env_example --write"
    assert sorted(set(expected) - set(shown)) == [], f"settings missing from .env.example; {fix}"
    assert sorted(set(shown) - set(expected)) == [], f".env.example names no such setting; {fix}"
    wrong = {name: (shown[name][0], value) for name, value in expected.items() if shown[name][0] != value}
    assert wrong == {}, f"(shown, real default) differ; {fix}"
    assert [name for name, (_, comment) in shown.items() if not comment] == []


def test_env_example_defaults_read_back_as_the_defaults() -> None:
    """Uncommenting a line as it stands changes nothing: its text parses to the field's default."""
    shown = env_example.parse((ROOT / ".env.example").read_text())
    differ = {}
    for name, field in Settings.model_fields.items():
        text = shown[ENV_PREFIX + name.upper()][0]
        if not text:  # empty: the settings whose default is empty (or None: unset)
            assert field.default in ("", None) or str(field.default) == "", name
            continue
        value = TypeAdapter(field.annotation).validate_python(text)
        if value != field.default:
            differ[name] = (text, field.default)
    assert differ == {}


def test_env_example_generator_renders_a_default_per_setting() -> None:
    text = env_example.render((ROOT / "README.md").read_text())
    assert set(env_example.parse(text)) == {ENV_PREFIX + name.upper() for name in Settings.model_fields}
