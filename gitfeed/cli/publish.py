"""`gitfeed publish` / `gitfeed unpublish`: the generator records that make the feeds subscribable."""

from __future__ import annotations

import json
from pathlib import Path

import click

from feedserver import publish as pub
from firehose.settings import Settings
from gitfeed.cli import common


def _settings(pds: str | None) -> Settings:
    return common.settings(pds_url=pds)


def _credentials(settings: Settings, handle: str | None) -> tuple[str, str]:
    """Handle and app password: flag, then FEEDGEN_PUBLISH_HANDLE/_PASSWORD, then a prompt."""
    handle = handle or settings.publish_handle or click.prompt("Handle", err=True)
    password = settings.publish_password.get_secret_value() or click.prompt(
        f"App password for {handle}", hide_input=True, err=True
    )
    return handle, password


def _login(settings: Settings, handle: str, password: str) -> pub.Session:
    try:
        return pub.login(settings.pds_url, handle, password)
    except pub.PublishError as exc:
        raise click.ClickException(str(exc)) from None


@click.command()
@click.option(
    "--feed", "feeds", multiple=True, metavar="NAME", help="Feed to publish (repeatable; default: all)."
)
@click.option("--display-name", help="Name shown in the app, at most 24 graphemes (one --feed only).")
@click.option("--description", help="Description shown in the app, at most 300 graphemes (one --feed only).")
@click.option("--avatar", type=click.Path(dir_okay=False, path_type=Path), help="PNG or JPEG, at most 1 MB.")
@click.option("--interactions/--no-interactions", default=True, help="Accept 'show more/less' feedback.")
@click.option("--pds", help="Publisher's PDS URL (default: FEEDGEN_PDS_URL or https://bsky.social).")
@click.option("--handle", help="Publisher's handle (default: FEEDGEN_PUBLISH_HANDLE, else a prompt).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--force", is_flag=True, help="Replace a same-named record that points at another service.")
def publish(
    feeds: tuple[str, ...],
    display_name: str | None,
    description: str | None,
    avatar: Path | None,
    interactions: bool,
    pds: str | None,
    handle: str | None,
    as_json: bool,
    force: bool,
) -> None:
    """Publish the feeds: one app.bsky.feed.generator record each (rkey = feed name).

    Safe to run again: unchanged records stay as they are. A record of the same name that points at
    another service (someone's other feed) is left alone unless --force. The password comes from
    FEEDGEN_PUBLISH_PASSWORD or a prompt; use an app password, never your main one.

    Example: gitfeed publish --feed github --avatar logo.png --handle alice.bsky.social
    """
    settings = _settings(pds)
    try:  # everything that can be refused offline is refused before the first request
        specs = pub.build_specs(
            feeds, display_name=display_name, description=description, accepts_interactions=interactions
        )
        image = pub.load_avatar(avatar) if avatar is not None else None
        service_did = pub.service_did_for(settings)
    except pub.RecordValidationError as exc:
        raise click.ClickException(str(exc)) from None
    session = _login(settings, *_credentials(settings, handle))
    try:
        results = pub.publish(session, specs, service_did, image, force=force)
    except pub.PublishError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        rows = [
            {"name": r.name, "uri": r.uri, "cid": r.cid, "url": r.url, "status": r.status} for r in results
        ]
        click.echo(json.dumps(rows, indent=2))
    else:
        for result in results:
            click.echo(f"{result.name:<10} {result.status:<9} {result.uri}")
            click.echo(f"{'':<10} {'':<9} {result.url}")
    if session.did != settings.publisher_did:
        click.echo(
            f"note: the server serves feeds of FEEDGEN_PUBLISHER_DID={settings.publisher_did}; "
            f"set it to {session.did} so it answers for these records",
            err=True,
        )


@click.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--pds", help="Publisher's PDS URL (default: FEEDGEN_PDS_URL or https://bsky.social).")
@click.option("--handle", help="Publisher's handle (default: FEEDGEN_PUBLISH_HANDLE, else a prompt).")
def unpublish(name: str, yes: bool, pds: str | None, handle: str | None) -> None:
    """Delete one feed's generator record; subscribers' app then shows the feed as gone.

    Example: gitfeed unpublish github --yes
    """
    settings = _settings(pds)
    try:
        pub.check_record_key(name)
    except pub.RecordValidationError as exc:
        raise click.ClickException(str(exc)) from None
    handle, password = _credentials(settings, handle)
    if not yes:
        click.confirm(f"Delete feed {name!r} from {handle}'s repository at {settings.pds_url}?", abort=True)
    session = _login(settings, handle, password)
    try:
        deleted = pub.unpublish(session, name)
    except pub.PublishError as exc:
        raise click.ClickException(str(exc)) from None
    if deleted:
        click.echo(f"deleted {pub.feed_uri(session.did, name)}")
    else:
        click.echo(f"{name} was not published in {session.did}'s repository: nothing to delete")
