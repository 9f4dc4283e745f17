"""The `gitfeed` command: one entry point for operators.

Commands load lazily (name -> "module:function"), so `gitfeed stats` never pays for importing
torch, and each command lives in a small module of its own under feedserver/cli/.
"""

from __future__ import annotations

import importlib

import click

# name -> "module:attribute". Keep sorted by area; each module owns its commands.
COMMANDS: dict[str, str] = {
    "run": "feedserver.cli.run:run",
    "serve": "feedserver.cli.serve:serve",
    "feed": "feedserver.cli.serve:feed",
    "did-doc": "feedserver.cli.serve:did_doc",
    "ban": "feedserver.cli.moderate:ban",
    "unban": "feedserver.cli.moderate:unban",
    "pin": "feedserver.cli.moderate:pin",
    "unpin": "feedserver.cli.moderate:unpin",
    "bans": "feedserver.cli.moderate:bans",
    "prune": "feedserver.cli.moderate:prune",
    "ingest": "feedserver.cli.ingest:ingest",
    "capture": "feedserver.cli.ingest:capture",
    "stats": "feedserver.cli.ingest:stats",
    "publish": "feedserver.cli.publish:publish",
    "unpublish": "feedserver.cli.publish:unpublish",
    "train": "feedserver.cli.classify:train",
    "classify": "feedserver.cli.classify:classify",
    "eval": "feedserver.cli.classify:eval_command",
    "explain": "feedserver.cli.classify:explain",
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


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gitfeed")
def main() -> None:
    """gitfeed: a Bluesky feed generator for posts about GitHub and machine learning.

    Example: gitfeed run
    """
