"""`gitfeed backtest`: replay a capture through the classifier and say what each feed would have admitted.

Thin (STYLE 1): the replay is `firehose.ingest.Ingest` over a capture source, the same path as
`gitfeed ingest --source capture:FILE`; the report is `feedserver.backtest.admitted_per_hour`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click

from gitfeed.cli import common
from gitfeed.cli.ingest import SCORERS, build_scorer


@click.command()
@click.argument("capture", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="With CAPTURE: keep the replay in this database (default: a temporary one). Alone: report on it.",
)
@click.option(
    "--scorer",
    type=click.Choice(SCORERS),
    default=None,
    help="link or model (the classifier). Default: FEEDGEN_SCORER, model.",
)
@click.option(
    "--samples", type=click.IntRange(min=0), default=3, show_default=True, help="Sample posts per feed."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option("--quiet", "-q", is_flag=True, help="No ingest log lines.")
def backtest(
    capture: Path | None, db: Path | None, scorer: str | None, samples: int, as_json: bool, quiet: bool
) -> None:
    """Replay CAPTURE (a file from `gitfeed capture`) through the classifier into a temporary database and
    print what each feed would have admitted per hour (of the posts' createdAt), with sample posts.

    Without CAPTURE, report on --db (e.g. one filled by `gitfeed ingest --source capture:FILE`).

    Example: gitfeed backtest yesterday.zst --samples 5
    """
    if capture is None and db is None:
        raise click.UsageError("give a CAPTURE file to replay, or --db to report on")
    with tempfile.TemporaryDirectory(prefix="gitfeed-backtest-") as scratch:
        path = db or Path(scratch) / "backtest.db"
        settings = common.settings(sqlite_location=path)
        replayed = _replay(capture, settings, scorer, quiet or as_json) if capture is not None else None
        report, line = _report(settings.store_target, settings, samples)
    if as_json:
        click.echo(json.dumps({**report.to_json(), "replay": replayed}))
        return
    if replayed is not None:
        click.echo(
            f"replayed {replayed['events']} events: {replayed['posts_scored']} posts scored, "
            f"{replayed['posts_kept']} kept, in {replayed['seconds']:.1f}s ({replayed['scorer']})"
        )
    click.echo(line)
    names = list(report.counts)
    click.echo(f"{'hour (UTC, createdAt)':22s}" + "".join(f"{name:>9s}" for name in names))
    for hour in report.hours:
        click.echo(f"{hour:22s}" + "".join(f"{report.counts[name].get(hour, 0):9d}" for name in names))
    totals = report.totals()
    click.echo(f"{'total':22s}" + "".join(f"{totals[name]:9d}" for name in names))
    for name, picked in report.samples.items():
        if picked:
            click.echo(f"{name}:")
        for sample in picked:
            scores = " ".join(f"{topic} {score:.2f}" for topic, score in sample.scores.items())
            click.echo(f"  [{scores}] {sample.created_at[:16]} {sample.text}")


def _replay(capture: Path, settings, scorer: str | None, quiet: bool) -> dict:  # noqa: ANN001
    from firehose.ingest import Ingest
    from firehose.sources import SourceError, build_source

    common.setup_logging(quiet)
    try:
        source = build_source(f"capture:{capture}", settings, pace="max")
    except SourceError as error:
        raise click.ClickException(str(error)) from error
    post_scorer = build_scorer(scorer or settings.scorer, settings)
    database = common.open_store(settings.store_target, create=True)
    runner = Ingest(source, database, settings, post_scorer)
    try:
        common.run_async(runner.run())
    except SourceError as error:
        raise click.ClickException(str(error)) from error
    finally:
        database.close()
    stats = runner.stats
    embedder = getattr(post_scorer, "embedder", None)
    return {
        "events": stats.events,
        "posts_scored": stats.posts_scored,
        "posts_kept": stats.posts_inserted,
        "seconds": round(stats.elapsed, 3),
        "scorer": embedder.describe() if embedder is not None else "link rule",
    }


def _report(target: str, settings, samples: int):  # noqa: ANN001, ANN202
    from feedserver.backtest import admitted_per_hour
    from firehose.store import status
    from firehose.store.backend import describe, is_postgres

    database = common.open_store(target)
    try:
        report = admitted_per_hour(database.conn, settings.thresholds, samples=samples)
        stored = status.posts_stored(database.conn)
    finally:
        database.close()
    thresholds = ", ".join(f"{topic} >= {value:.2f}" for topic, value in settings.thresholds.items())
    where = describe(target) if is_postgres(target) else Path(target).name
    return report, f"{stored} posts admitted in {where} (thresholds {thresholds}; before moderation)"
