"""How operators run gitfeed: the Dockerfile, compose.yaml, the Caddyfile and the systemd unit say what
the code and the README say, and each file is valid for the tool that reads it.

No Docker engine here: the image is never built. What can be checked is: the Dockerfile installs exactly
what the README and scripts/test.sh install; every `gitfeed` command line in compose.yaml and the unit
parses with the real CLI; `systemd-analyze verify`, `caddy validate` and `docker compose config` (or
docker-compose v1) accept the files where those tools are installed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from firehose.settings import ENV_PREFIX, Settings
from gitfeed.cli import COMMANDS, main
from tests.test_constraints import pins

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "systemd" / "gitfeed-run.service"
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
# What compose.yaml already names for issue 14 items 3-4 (the scorer), before the code has it. Once a
# name is real, it must leave this list (and a new setting must be in .env.example: the test below).
PENDING_COMMANDS: set[str] = set()
PENDING_SETTINGS: set[str] = set()


def settings_names() -> set[str]:
    return {ENV_PREFIX + name.upper() for name in Settings.model_fields}


# Dockerfile


def logical_lines(text: str) -> list[str]:
    """Dockerfile or shell text -> lines with backslash continuations joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    return [line.strip() for line in joined.splitlines() if line.strip() and not line.strip().startswith("#")]


def pip_installs(lines: list[str]) -> list[list[str]]:
    """Each `pip install ...` command (split on &&) as its arguments after `install`."""
    found = []
    for line in lines:
        for part in line.split("&&"):
            words = shlex.split(part)
            for index in range(len(words) - 1):
                if words[index] in ("pip", "pip3") and words[index + 1] == "install":
                    found.append(words[index + 2 :])
    return found


def readme_installs() -> list[list[str]]:
    readme = (ROOT / "README.md").read_text()
    setup = re.search(r"## Set-up: two commands\n+```sh\n(.*?)```", readme, re.S)
    assert setup is not None
    return pip_installs([setup[1].split("#")[0]])


def dockerfile_installs() -> list[list[str]]:
    lines = [line[4:] for line in logical_lines((ROOT / "Dockerfile").read_text()) if line.startswith("RUN ")]
    return pip_installs(lines)


def test_readme_test_sh_and_dockerfile_install_the_same_torch_first() -> None:
    script = pip_installs(logical_lines((ROOT / "scripts" / "test.sh").read_text()))
    torch_pin = f"torch=={pins()['torch']}"
    for name, installs in (
        ("README", readme_installs()),
        ("test.sh", script),
        ("Dockerfile", dockerfile_installs()),
    ):
        assert len(installs) == 2, name
        first, second = installs
        assert [word for word in first if word.startswith("torch")] == [torch_pin], name
        assert "constraints.txt" in second and second[second.index("constraints.txt") - 1] == "-c", name


def test_dockerfile_installs_gitfeed_as_the_readme_does_but_not_editable() -> None:
    (readme_torch, readme_project), (docker_torch, docker_project) = readme_installs(), dockerfile_installs()
    # the image also runs `gitfeed scorer`, so it adds the scorer extra (Ray Serve)
    assert docker_project == [".[scorer]" if word == "." else word for word in readme_project if word != "-e"]
    # torch: the README's line, plus only the index of the CPU build (PyPI's Linux wheel is the CUDA one).
    assert [word for word in docker_torch if word not in ("--index-url", "$TORCH_INDEX_URL")] == readme_torch
    assert re.search(r"^ARG TORCH_INDEX_URL=\S*/whl/cpu$", (ROOT / "Dockerfile").read_text(), re.M)


def test_dockerfile_copies_what_the_install_reads_and_runs_unprivileged() -> None:
    lines = logical_lines((ROOT / "Dockerfile").read_text())
    assert lines[0] == "FROM python:3.11-slim"
    install = next(i for i, line in enumerate(lines) if '-c constraints.txt ".[scorer]"' in line)
    copied = " ".join(line for line in lines[:install] if line.startswith("COPY "))
    for needed in ("pyproject.toml", "constraints.txt", "README.md", "firehose", "feedserver", "gitfeed"):
        assert needed in copied
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    env = " ".join(line for line in lines if line.startswith("ENV "))
    assert "HF_HUB_OFFLINE=1" in env
    assert not any(line.startswith("RUN ") and "snapshot_download" in line and "PREFETCH_MODEL" not in line
                   for line in lines)  # fmt: skip


# compose.yaml


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def gitfeed_services() -> dict[str, dict]:
    return {name: s for name, s in compose()["services"].items() if s.get("image", "").startswith("gitfeed")}


def parse_command(argv: list[str]) -> click.Context | None:
    """Parse a `gitfeed ...` argument list with the real CLI (nothing runs); None for a pending command."""
    name, *args = argv
    if name in PENDING_COMMANDS:
        assert name not in COMMANDS, f"gitfeed {name} exists now: drop it from PENDING_COMMANDS"
        return None
    command = main.get_command(click.Context(main), name)
    assert command is not None, f"no command gitfeed {name}"
    return command.make_context(name, list(args))


def test_compose_has_the_target_layout() -> None:
    services = compose()["services"]
    assert {"db", "ingest", "scorer", "serve-a", "serve-b", "proxy"} <= set(services)
    assert services["db"]["image"].startswith("postgres:")
    assert services["proxy"]["image"].startswith("caddy:")
    commands = {name: service["command"][0] for name, service in gitfeed_services().items()}
    assert commands == {"ingest": "ingest", "scorer": "scorer", "serve-a": "serve", "serve-b": "serve"}


def test_compose_commands_and_settings_are_real() -> None:
    known = settings_names()
    for name, service in gitfeed_services().items():
        parse_command(service["command"])
        for variable in service.get("environment", {}):
            if variable.startswith(ENV_PREFIX):
                assert variable in known | PENDING_SETTINGS, f"{name}: {variable} is no setting"
                if variable in PENDING_SETTINGS:
                    assert variable not in known, f"{variable} exists now: drop it from PENDING_SETTINGS"
        assert service["environment"]["FEEDGEN_DATABASE_URL"].startswith("postgresql://")
        assert service["env_file"] == ".env"


def port_of(argv: list[str]) -> int:
    return int(argv[argv.index("--port") + 1])


def test_compose_health_checks_and_urls_meet_the_ports_served() -> None:
    services = gitfeed_services()
    servers = {name: s for name, s in services.items() if s["command"][0] == "serve"}
    for name, server in servers.items():
        probe = " ".join(server["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port_of(server['command'])}/xrpc/_health" in probe, name
        context = parse_command(server["command"])
        assert context is not None and context.params["host"] == "0.0.0.0"
    scorer_url = services["ingest"]["environment"]["FEEDGEN_SCORER_URL"]
    assert scorer_url == f"http://scorer:{port_of(services['scorer']['command'])}"
    # The Caddyfile sends traffic to exactly these servers, at their ports.
    upstreams = re.search(r"^\s*reverse_proxy (.+?) \{", CADDYFILE.read_text(), re.M)
    assert upstreams is not None
    assert sorted(upstreams[1].split()) == sorted(f"{n}:{port_of(s['command'])}" for n, s in servers.items())


def compose_client() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def compose_config(folder: Path) -> subprocess.CompletedProcess[str]:
    command = [*compose_client(), "-f", "compose.yaml", "config"]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True)


@pytest.mark.skipif(compose_client() is None, reason="neither docker compose nor docker-compose installed")
def test_compose_config_is_valid(tmp_path: Path) -> None:
    for name in ("compose.yaml", "Dockerfile"):
        (tmp_path / name).write_text((ROOT / name).read_text())
    (tmp_path / "deploy" / "caddy").mkdir(parents=True)
    (tmp_path / ".env").write_text(
        (ROOT / ".env.example").read_text().replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=pw\n")
        + "FEEDGEN_HOSTNAME=feeds.example.com\n"
    )
    done = compose_config(tmp_path)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)["services"]
    assert (
        resolved["serve-b"]["environment"]["FEEDGEN_DATABASE_URL"]
        == "postgresql://gitfeed:pw@db:5432/gitfeed"
    )
    # Without a password compose refuses to start rather than run PostgreSQL with an empty one.
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    refused = compose_config(tmp_path)
    assert refused.returncode != 0 and "POSTGRES_PASSWORD" in refused.stderr


# The Caddyfile


@pytest.mark.skipif(shutil.which("caddy") is None, reason="caddy not installed")
def test_caddyfile_is_valid() -> None:
    done = subprocess.run(
        ["caddy", "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env={"FEEDGEN_HOSTNAME": "feeds.example.com", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "Valid configuration" in done.stdout + done.stderr


# systemd


def unit_values(key: str) -> list[str]:
    return [line.split("=", 1)[1] for line in UNIT.read_text().splitlines() if line.startswith(f"{key}=")]


def test_unit_runs_gitfeed_run_from_the_documented_venv_hardened() -> None:
    (exec_start,) = unit_values("ExecStart")
    binary, *argv = shlex.split(exec_start)
    assert binary == "/opt/gitfeed/venv/bin/gitfeed"
    assert parse_command(argv) is not None
    readme = (ROOT / "README.md").read_text()
    assert "python3 -m venv /opt/gitfeed/venv" in readme
    for key, value in {
        "User": "gitfeed", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "StateDirectory": "gitfeed",
        "KillMode": "mixed", "PrivateTmp": "yes", "ProtectHome": "yes", "CapabilityBoundingSet": "",
    }.items():  # fmt: skip
        assert unit_values(key) == [value], key
    # gitfeed run needs up to its supervisor's stop timeout (15 s) to stop its children in order.
    assert float(unit_values("TimeoutStopSec")[0]) > 15
    assert "HF_HUB_OFFLINE=1" in " ".join(unit_values("Environment"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
@pytest.mark.skipif(shutil.which("gitfeed") is None, reason="gitfeed is not installed on PATH")
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """Everything but the install path is checked: ExecStart points at this machine's gitfeed (verify
    refuses a missing binary). Unknown keys only warn, so any output fails the test."""
    text = UNIT.read_text().replace("/opt/gitfeed/venv/bin/gitfeed", shutil.which("gitfeed"))
    unit = tmp_path / UNIT.name
    unit.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True)
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_unit_exposure_is_low(tmp_path: Path) -> None:
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text())
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True, text=True,
    )  # fmt: skip
    score = re.search(r"Overall exposure level for \S+: ([0-9.]+)", done.stdout + done.stderr)
    assert score is not None, done.stdout + done.stderr
    assert float(score[1]) <= 2.0, done.stdout
