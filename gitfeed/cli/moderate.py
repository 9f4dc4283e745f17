"""Operator moderation: ban/unban, pin/unpin, list them, and prune old posts.

Bans and pins apply on the next feed request: triggers bump `server_state.moderation_version`, which
every serving process checks per request.
"""

from __future__ import annotations

import re
import time

import click
import orjson

from gitfeed.cli import common
from gitfeed.cli.common import DB_OPTION

KIND = click.Choice(["author", "post"])
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def _open(db: str | None):  # noqa: ANN202 - sqlite_utils.Database
    return common.store(db)[1]


def parse_duration(text: str) -> float:
    """'7d', '12h', '30m', '90s' or plain seconds -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise click.BadParameter(f"{text!r} is not a duration like 7d, 12h, 30m or 3600")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _moderate(action, *args):  # noqa: ANN001, ANN202 - a feedserver.moderation call
    """Run one moderation call, turning bad input into one clear line."""
    from feedserver.moderation import ModerationError

    try:
        return action(*args)
    except ModerationError as error:
        raise click.ClickException(str(error)) from error


@click.command()
@click.argument("kind", type=KIND)
@click.argument("value")
@click.option("--reason", default="", help="Why (kept with the ban).")
@DB_OPTION
def ban(kind: str, value: str, reason: str, db: str | None) -> None:
    """Hide an author (DID) or one post (at-uri) from every feed, from the next request on.

    Example: gitfeed ban author did:plc:spammer --reason "link spam"
    """
    from feedserver import moderation

    value = _moderate(moderation.ban, _open(db).conn, kind, value, reason)
    click.echo(f"banned {kind} {value}")


@click.command()
@click.argument("kind", type=KIND)
@click.argument("value")
@DB_OPTION
def unban(kind: str, value: str, db: str | None) -> None:
    """Lift a ban.

    Example: gitfeed unban author did:plc:spammer
    """
    from feedserver import moderation

    if not moderation.unban(_open(db).conn, kind, value):
        raise click.ClickException(f"no ban on {kind} {value}")
    click.echo(f"unbanned {kind} {value}")


@click.command()
@click.argument("uri")
@click.option("--feed", default="*", show_default=True, help="Feed name, or * for every feed.")
@DB_OPTION
def pin(uri: str, feed: str, db: str | None) -> None:
    """Pin a post to the top of a feed's first page (newest pin first, at most 5 shown).

    Example: gitfeed pin at://did:plc:me/app.bsky.feed.post/3kabc --feed github
    """
    from feedserver import moderation

    uri = _moderate(moderation.pin, _open(db).conn, uri, feed)
    click.echo(f"pinned {uri} on {feed}")


@click.command()
@click.argument("uri")
@click.option("--feed", default=None, help="Only this feed's pin (default: every pin of the post).")
@DB_OPTION
def unpin(uri: str, feed: str | None, db: str | None) -> None:
    """Remove a pin.

    Example: gitfeed unpin at://did:plc:me/app.bsky.feed.post/3kabc
    """
    from feedserver import moderation

    if not moderation.unpin(_open(db).conn, uri, feed):
        raise click.ClickException(f"no pin for {uri}")
    click.echo(f"unpinned {uri}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="JSON lines.")
@DB_OPTION
def bans(as_json: bool, db: str | None) -> None:
    """List bans and pins.

    Example: gitfeed bans --json
    """
    from feedserver import moderation

    ban_rows, pin_rows = moderation.moderation_rows(_open(db).conn)
    rows = [{"type": "ban", **row} for row in reversed(ban_rows)] + [
        {
            "type": "pin",
            "kind": "pin",
            "value": row["uri"],
            "feed": row["feed"],
            "created_ts": row["created_ts"],
        }
        for row in reversed(pin_rows)
    ]
    if as_json:
        for row in rows:
            click.echo(orjson.dumps(row).decode())
        return
    if not rows:
        click.echo("no bans or pins")
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(row["created_ts"]))
        extra = f"feed={row['feed']}" if row["type"] == "pin" else (row["reason"] or "")
        click.echo(f"{when}  {row['kind']:<6} {row['value']}  {extra}".rstrip())


@click.command()
@click.option(
    "--older-than", "older_than", default="7d", show_default=True, help="Age: 7d, 36h, 90m, seconds."
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@DB_OPTION
def prune(older_than: str, quiet: bool, db: str | None) -> None:
    """Delete posts stored longer ago than --older-than (with their likes), in small transactions.

    Example: gitfeed prune --older-than 7d
    """
    from rich.progress import Progress

    from firehose.store.writer import StoreWriter

    seconds = parse_duration(older_than)
    writer = StoreWriter(_open(db), service="prune")
    total = writer.prune_candidates(seconds)
    with Progress(disable=quiet or total == 0, transient=True) as bar:
        task = bar.add_task("pruning", total=total)
        removed = writer.prune(seconds, progress=lambda n: bar.advance(task, n))
    click.echo(f"pruned {removed} posts older than {older_than}")
