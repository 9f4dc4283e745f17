"""Write `.env.example` from the settings module: every `FEEDGEN_*` setting, its default, one comment line.

The names and defaults come from `firehose.settings.Settings` (so they are the code's, not a copy); the
comment is the setting's row in the README's settings table (the one place a setting is explained).
`tests/test_deploy.py` fails when `.env.example` misses a setting or shows another default.

Every setting line is commented out, so a copied `.env.example` changes nothing until a line is
uncommented; the same file serves `gitfeed` (pydantic-settings reads `.env`), `compose.yaml`
(`env_file: .env`) and systemd (`EnvironmentFile=`).

Example: python -m scripts.env_example --write
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pydantic import SecretStr

from firehose.settings import ENV_PREFIX, Settings

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / ".env.example"
ROW = re.compile(r"^\| `(FEEDGEN_[A-Z0-9_]+)` \| (.*?) \| (.*) \|$")
LINE = re.compile(r"^# (FEEDGEN_[A-Z0-9_]+)=(.*)$")

HEADER = """\
# gitfeed settings: copy to .env and uncomment what you change.
# Generated from firehose/settings.py by `python -m scripts.env_example --write`; the comments are the
# README's settings table. Read by gitfeed itself (.env in the working directory), by compose.yaml
# (env_file: .env) and by the systemd units (EnvironmentFile=/etc/gitfeed/gitfeed.env).

# compose.yaml only: the PostgreSQL password (URL-safe characters: it goes into FEEDGEN_DATABASE_URL).
# compose.yaml refuses to start while it is empty.
POSTGRES_PASSWORD=
"""


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def default_text(value: object) -> str:
    """A default as an environment variable spells it (what pydantic-settings reads back as the same)."""
    if value is None:
        return ""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def defaults() -> dict[str, str]:
    """Every setting's environment name -> its default, in the order Settings declares them."""
    return {env_name(name): default_text(field.default) for name, field in Settings.model_fields.items()}


def readme_rows(readme: str) -> dict[str, tuple[str, str]]:
    """The README settings table: name -> (default as written, meaning), markdown backticks dropped."""
    rows = {}
    for line in readme.splitlines():
        match = ROW.match(line.strip())
        if match:
            rows[match[1]] = (match[2].replace("`", ""), match[3].replace("`", ""))
    return rows


def render(readme: str) -> str:
    rows = readme_rows(readme)
    missing = [name for name in defaults() if name not in rows]
    if missing:
        raise SystemExit(f"no row in README.md's settings table for: {', '.join(missing)}")
    out = [HEADER]
    for name, value in defaults().items():
        written, meaning = rows[name]
        written = written.strip("()")
        if not value and written and written != "unset" and not written.startswith("empty"):
            meaning = f"{meaning}; empty: {written}"  # empty means something: did:web:HOSTNAME, ...
        out.append(f"# {meaning}\n# {name}={value}\n")
    return "\n".join(out)


def parse(text: str) -> dict[str, tuple[str, str]]:
    """`.env.example` -> name -> (default shown, the comment line above it)."""
    lines = text.splitlines()
    found = {}
    for index, line in enumerate(lines):
        match = LINE.match(line)
        if match:
            comment = lines[index - 1] if index and lines[index - 1].startswith("# ") else ""
            found[match[1]] = (match[2], comment[2:].strip())
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {TARGET.name} (else print it)")
    args = parser.parse_args(argv)
    text = render((ROOT / "README.md").read_text())
    if args.write:
        TARGET.write_text(text)
        print(f"wrote {TARGET.relative_to(ROOT)} ({len(defaults())} settings)")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
