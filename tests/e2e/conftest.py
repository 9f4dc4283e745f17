"""Session fixtures for the end-to-end tests: one local Bluesky network (PLC + PDS + AppView) per run.

Everything under tests/e2e is marked `e2e`; skip it locally with `-m "not e2e"`. The network needs
what scripts/setup_e2e.sh installs (PostgreSQL, tests/e2e/node_modules); without it the tests fail
with that instruction rather than skip, so CI cannot pass by accident.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .network import E2E_DIR, Account, LocalNetwork
from .postgres import PostgresError, find_pg_bin

_names = itertools.count(1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder e2e, even one whose module forgets its pytestmark."""
    for item in items:
        if Path(str(item.fspath)).resolve().is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


def require_e2e_setup() -> None:
    """Fail with the fix when what the network needs is not installed."""
    try:
        find_pg_bin()
    except PostgresError as exc:
        pytest.fail(str(exc), pytrace=False)
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH (Node 20 runs the local Bluesky network)", pytrace=False)
    if not (E2E_DIR / "node_modules" / "@atproto" / "dev-env").is_dir():
        pytest.fail("tests/e2e/node_modules is missing: run scripts/setup_e2e.sh", pytrace=False)


@pytest.fixture(scope="session")
def local_network() -> Iterator[LocalNetwork]:
    """PLC + PDS + AppView for the whole session; torn down with nothing left behind."""
    require_e2e_setup()
    network = LocalNetwork().start()
    up = f"{network.startup_seconds:.1f} s"
    print(f"\nlocal network up in {up}: pds {network.pds_url} appview {network.appview_url}")
    yield network
    report = network.close()
    leftovers = {k: v for k, v in report.items() if k != "node_exit" and v not in (False, [], None)}
    assert not leftovers, f"the local network left something behind: {report}"


@pytest.fixture
def make_account(local_network: LocalNetwork) -> Callable[[str], Account]:
    """Accounts with handles unique for the session: make_account("alice") -> alice1.test, ..."""

    def make(name: str) -> Account:
        return local_network.create_account(f"{name}{next(_names)}")

    return make
