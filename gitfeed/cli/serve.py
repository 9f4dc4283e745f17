"""`gitfeed serve`, `gitfeed feed` and `gitfeed did-doc`: run the server and look at what it serves."""

from __future__ import annotations

import logging
import time

import click
import orjson

from gitfeed.cli import common
from gitfeed.cli.common import DB_OPTION


@click.command()
@click.option("--port", type=int, default=None, help="Port (default FEEDGEN_PORT, 3000).")
@click.option("--host", default=None, help="Interface to bind (default FEEDGEN_LISTENHOST).")
@DB_OPTION
@click.option("--log-requests/--no-log-requests", default=True, help="One log line per request.")
def serve(port: int | None, host: str | None, db: str | None, log_requests: bool) -> None:
    """Serve the feeds (getFeedSkeleton, describeFeedGenerator, did.json, health, metrics).

    One uvicorn worker on uvloop + httptools; ranking runs in memory, so one process is enough.
    Header size, header-read time and body size are bounded (FEEDGEN_MAX_HEADER_BYTES,
    FEEDGEN_HEADER_TIMEOUT_SECONDS, FEEDGEN_MAX_BODY_BYTES).

    Example: gitfeed serve --port 3000 --db gitfeed.db
    """
    import uvicorn

    from feedserver import requestlog
    from feedserver.app import create_app
    from feedserver.httpserver import server_options
    from firehose.store.schema import DatabaseError

    settings = common.settings(port=port, listenhost=host, sqlite_location=db)
    common.setup_logging()
    if not log_requests:
        requestlog.log.setLevel(logging.WARNING)
    # A server started before ingest (gitfeed run on a new machine) serves empty feeds, not an error.
    common.open_store(settings.store_target, create=True).conn.close()
    try:
        app = create_app(settings)
    except DatabaseError as error:
        raise click.ClickException(str(error)) from error
    uvicorn.run(app, **server_options(settings))


@click.command()
@click.argument("name")
@click.option("--limit", type=click.IntRange(1, 100), default=30, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@click.option("--viewer", default=None, help="Rank as this viewer DID sees it (their feedback applied).")
@DB_OPTION
def feed(name: str, limit: int, as_json: bool, viewer: str | None, db: str | None) -> None:
    """Show a feed's first page as a subscriber gets it now: rank, score, age, likes, author, text, link.

    Example: gitfeed feed github --limit 20
    """
    from feedserver.feeds import FEEDS
    from feedserver.service import FeedService
    from firehose.store.schema import DatabaseError

    if name not in FEEDS:
        raise click.ClickException(f"unknown feed {name!r} (feeds: {', '.join(sorted(FEEDS))})")
    settings = common.settings(sqlite_location=db)
    try:
        service = FeedService(settings)
    except DatabaseError as error:
        raise click.ClickException(str(error)) from error
    try:
        page, view = service.first_page_sync(name, limit, viewer)
        details = service.details([item["post"] for item in page.items])
    finally:
        service.close()
    now = time.time()
    rows = []
    for rank, item in enumerate(page.items, start=1):
        uri = item["post"]
        info = details.get(uri, {})
        pinned = "reason" in item
        score = None if pinned else _score_of(view, uri)
        links = orjson.loads(info.get("github_urls") or "[]")
        rows.append(
            {
                "rank": rank,
                "uri": uri,
                "pinned": pinned,
                "score": score,
                "age_hours": round((now - info["created_ts"]) / 3600, 2) if info else None,
                "likes": info.get("like_count"),
                "reposts": info.get("repost_count"),
                "author": info.get("author", uri[5:].split("/", 1)[0]),
                "text": info.get("text", ""),
                "github": links[0] if links else "",
            }
        )
    if as_json:
        for row in rows:
            click.echo(orjson.dumps(row).decode())
        return
    _print_table(name, rows)


def _score_of(view, uri: str) -> float | None:  # noqa: ANN001 - ranking.Snapshot
    index = view.id_of(uri)
    if index is None:
        return None
    position = int((view.ids == index).nonzero()[0][0])
    return float(view.scores[position])


def _print_table(name: str, rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"feed {name}", show_lines=False)
    for column, justify in (
        ("#", "right"),
        ("score", "right"),
        ("age h", "right"),
        ("likes", "right"),
        ("author", "left"),
        ("text", "left"),
        ("github", "left"),
    ):
        table.add_column(column, justify=justify, overflow="fold" if column == "github" else "ellipsis")
    for row in rows:
        score = "pinned" if row["pinned"] else (f"{row['score']:.4g}" if row["score"] is not None else "-")
        table.add_row(
            str(row["rank"]),
            score,
            "-" if row["age_hours"] is None else f"{row['age_hours']:.1f}",
            "-" if row["likes"] is None else str(row["likes"]),
            row["author"],
            " ".join(row["text"].split())[:80],
            row["github"],
        )
    if not rows:
        click.echo(f"feed {name} is empty")
        return
    Console().print(table)


@click.command("did-doc")
@click.option("--hostname", default=None, help="Host name (default FEEDGEN_HOSTNAME).")
def did_doc(hostname: str | None) -> None:
    """Print the did:web document this server publishes at /.well-known/did.json.

    Example: gitfeed did-doc --hostname feed.example.com
    """
    from feedserver.app import did_document

    settings = common.settings(hostname=hostname)
    doc = did_document(settings)
    if doc is None:
        raise click.ClickException(
            f"service DID {settings.service_did} is not did:web:{settings.hostname}: no did.json to publish"
        )
    click.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())


@click.command("rotate-cursor-secret")
@click.option(
    "--grace", default="24h", show_default=True, help="How long cursors of the old secret stay valid."
)
@DB_OPTION
def rotate_cursor_secret(grace: str, db: str | None) -> None:
    """Sign feed cursors with a new secret from now on; the old one keeps verifying for --grace.

    Every server follows the rotation within a second (no restart). With FEEDGEN_CURSOR_SECRET set, the
    setting is the secret: rotate it there instead, as FEEDGEN_CURSOR_SECRET=new,old.

    Example: gitfeed rotate-cursor-secret --grace 24h
    """
    from feedserver.cursors import rotate_secret
    from gitfeed.cli.moderate import parse_duration

    settings = common.settings(sqlite_location=db)
    if settings.cursor_secret:
        raise click.ClickException(
            "FEEDGEN_CURSOR_SECRET is set: rotate it there (FEEDGEN_CURSOR_SECRET=new,old), not in the store"
        )
    seconds = parse_duration(grace)
    store = common.open_store(settings.store_target)
    try:
        kid = rotate_secret(store.conn, seconds)
    finally:
        store.close()
    click.echo(f"cursor key {kid} signs from now on; the previous key verifies for {grace}")
