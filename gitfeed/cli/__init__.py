"""The `gitfeed` command: one entry point for operators.

Commands load lazily (name -> "module:function"), so `gitfeed stats` never pays for importing
torch, and each command lives in a small module of its own under gitfeed/cli/. What they share
(settings, opening the store, logging, signals) is gitfeed/cli/common.py.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute". Keep sorted by area; each module owns its commands.
COMMANDS: dict[str, str] = {
    "run": "gitfeed.cli.run:run",
    "serve": "gitfeed.cli.serve:serve",
    "feed": "gitfeed.cli.serve:feed",
    "did-doc": "gitfeed.cli.serve:did_doc",
    "rotate-cursor-secret": "gitfeed.cli.serve:rotate_cursor_secret",
    "ban": "gitfeed.cli.moderate:ban",
    "unban": "gitfeed.cli.moderate:unban",
    "pin": "gitfeed.cli.moderate:pin",
    "unpin": "gitfeed.cli.moderate:unpin",
    "bans": "gitfeed.cli.moderate:bans",
    "prune": "gitfeed.cli.moderate:prune",
    "ingest": "gitfeed.cli.ingest:ingest",
    "capture": "gitfeed.cli.ingest:capture",
    "stats": "gitfeed.cli.ingest:stats",
    "publish": "gitfeed.cli.publish:publish",
    "unpublish": "gitfeed.cli.publish:unpublish",
    "train": "gitfeed.cli.classify:train",
    "classify": "gitfeed.cli.classify:classify",
    "eval": "gitfeed.cli.classify:eval_command",
    "explain": "gitfeed.cli.classify:explain",
    "scorer": "gitfeed.cli.scorer:scorer",
    "label": "gitfeed.cli.label:label",
    "backtest": "gitfeed.cli.backtest:backtest",
}


class LazyGroup(click.Group):
    """A click group that imports a command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; a bad setting or a file/socket error that escaped it still ends as one
        line, not a traceback."""
        from pydantic import ValidationError

        from gitfeed.cli.common import os_error, setting_error

        try:
            return super().invoke(ctx)
        except ValidationError as error:
            raise setting_error(error) from error
        except OSError as error:
            raise os_error(error) from error


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gitfeed")
def main() -> None:
    """gitfeed: a Bluesky feed generator for posts about GitHub and machine learning.

    Example: gitfeed run
    """
