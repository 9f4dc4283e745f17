"""What every command shares: settings, opening the store, logging, the event loop and signals.

Each helper turns a library error into one `click.ClickException` line (STYLE 1), so no command
prints a traceback for a bad setting or a missing database. `main`'s group also maps a settings
error that escapes a command to one line (see gitfeed.cli.LazyGroup).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import sqlite_utils
    from pydantic import ValidationError

    from firehose.settings import Settings

T = TypeVar("T")
DB_OPTION = click.option(
    "--db", "db", default=None, help="SQLite file or postgresql:// URL (default: FEEDGEN_DATABASE_URL)."
)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def setting_error(error: ValidationError) -> click.ClickException:
    """A pydantic ValidationError of Settings as one line: `invalid setting port: ...`."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "settings"
    return click.ClickException(f"invalid setting {where}: {first['msg']}")


def os_error(error: OSError) -> click.ClickException:
    """A file or socket error as one line: `cannot use /path: Permission denied`."""
    reason = error.strerror or str(error) or type(error).__name__
    where = error.filename if error.filename is not None else None
    return click.ClickException(f"cannot use {where}: {reason}" if where else reason)


def settings(**overrides: object) -> Settings:
    """`load_settings(**overrides)` (None values fall back to FEEDGEN_* and .env), errors as one line."""
    from pydantic import ValidationError

    from firehose.settings import load_settings

    try:
        return load_settings(**overrides)
    except ValidationError as error:
        raise setting_error(error) from error


def open_store(target: Path | str, *, create: bool = False) -> sqlite_utils.Database:
    """The store `target` names (a SQLite path or a postgresql:// URL; migrated), or one line saying
    why it cannot be opened."""
    from firehose.store.schema import DatabaseError, open_db

    try:
        return open_db(target, create=create)
    except DatabaseError as error:
        raise click.ClickException(str(error)) from error


def store(db: str | None, *, create: bool = False, **overrides: object) -> tuple[Settings, Any]:
    """Settings with `--db` applied, and the store they name: the opening of most commands."""
    config = settings(sqlite_location=db, **overrides)
    return config, open_store(config.store_target, create=create)


def setup_logging(quiet: bool = False) -> None:
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO, format=LOG_FORMAT)


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop (it comes with uvicorn[standard]); see `on_signals` for stopping it."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def on_signals(callback: Callable[[], object]) -> None:
    """Call `callback` on SIGINT/SIGTERM, from inside the running loop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # not possible off the main thread (e.g. CliRunner in a thread): then the default handlers stay
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, callback)
