"""`gitfeed ingest`, `gitfeed capture` and `gitfeed stats`: the ingest side of the operator CLI.

Thin edges (STYLE 1): each command builds settings, a source and the database, runs one thing from
`firehose`, and turns library errors into one-line messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gitfeed.cli import common
from gitfeed.cli.common import DB_OPTION

if TYPE_CHECKING:
    from firehose.scoring import PostScorer
    from firehose.settings import Settings

SCORERS = ("link", "model")
log = logging.getLogger(__name__)
STATUS_EVERY_SECONDS = 10.0


def build_scorer(choice: str, settings: Settings) -> PostScorer:
    """`link` (Gitfeed's rule: a GitHub link) or `model` (the embedding classifier, the default; its model
    step in the scoring workers at FEEDGEN_SCORER_URL when that is set)."""
    from firehose.scoring import LinkScorer

    if choice == "link":
        return LinkScorer()
    from firehose.classify import build_scorer as build_model_scorer

    try:
        return build_model_scorer(settings, workers=True)
    except Exception as error:  # ModelNotFoundError, HeadsError: messages written for one CLI line
        raise click.ClickException(f"cannot load the classifier ({error}); use --scorer link") from error


@click.command()
@click.option(
    "--source", "source_spec", default=None, help="relay, jetstream or capture:FILE (default FEEDGEN_SOURCE)."
)
@click.option("--endpoint", default=None, help="Base URL of the relay or Jetstream (ws:// or wss://).")
@DB_OPTION
@click.option(
    "--pace",
    type=click.Choice(["max", "recorded"]),
    default="max",
    show_default=True,
    help="Capture replay speed: as fast as possible, or as recorded.",
)
@click.option(
    "--scorer",
    type=click.Choice(SCORERS),
    default=None,
    help="link (GitHub links only) or model (the classifier). Default: FEEDGEN_SCORER, model.",
)
@click.option("--quiet", "-q", is_flag=True, help="Only warnings and the final line.")
def ingest(
    source_spec: str | None,
    endpoint: str | None,
    db: str | None,
    pace: str,
    scorer: str | None,
    quiet: bool,
) -> None:
    """Stream the network (or replay a capture) into the database, resuming from the saved cursor.

    Runs until SIGINT/SIGTERM (a capture: until its end). On a signal the batch in flight is
    committed with its cursor, so the next start loses and doubles nothing.

    Example: gitfeed ingest --source capture:frames.bin.zst --db gitfeed.db --scorer link
    """
    from firehose.ingest import Ingest
    from firehose.scoring import ScorerUnavailable
    from firehose.sources import SourceError, build_source
    from firehose.store.writer import WriterFencedError

    settings = common.settings(sqlite_location=db)
    common.setup_logging(quiet)
    try:
        source = build_source(source_spec or settings.source, settings, endpoint=endpoint, pace=pace)
    except SourceError as error:
        raise click.ClickException(str(error)) from error
    post_scorer = build_scorer(scorer or settings.scorer, settings)
    describe = getattr(post_scorer, "describe", None)
    log.info("classifier: %s", describe() if describe is not None else "GitHub links only (link scorer)")
    database = common.open_store(settings.store_target, create=True)
    runner = Ingest(source, database, settings, post_scorer)

    async def main() -> None:
        common.on_signals(runner.stop)
        if source.kind == "capture" and not quiet:
            await _with_progress(runner)
        else:
            status = None if quiet else asyncio.create_task(_status_lines(runner))
            try:
                await runner.run()
            finally:
                if status is not None:
                    status.cancel()

    try:
        common.run_async(main())
    except (SourceError, WriterFencedError) as error:
        raise click.ClickException(str(error)) from error
    except ScorerUnavailable as error:
        raise click.ClickException(
            f"stopped while waiting on the scorer ({error}); the batch in flight was not committed, the "
            f"next start resumes from cursor {runner.stats.cursor}"
        ) from error
    finally:
        database.close()
    stats = runner.stats
    kept = ", ".join(f"{topic} {n}" for topic, n in sorted(stats.kept_by_topic.items())) or "none"
    rate = stats.events / max(stats.elapsed, 1e-9)
    share = stats.commit_seconds / max(stats.elapsed, 1e-9)
    click.echo(
        f"ingested {stats.events} events in {stats.elapsed:.1f}s ({rate:.0f}/s); "
        f"posts kept: {kept}; skipped {stats.skipped}; cursor {stats.cursor}; "
        f"commit {share:.1%} of the time"
    )


async def _with_progress(runner: Any) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    total = await asyncio.to_thread(runner.source.count_frames)
    with Progress(
        TextColumn("replay"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>8.0f} events/s  kept {task.fields[kept]}"),
        TimeRemainingColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task("replay", total=total, rate=0.0, kept=0)
        run = asyncio.create_task(runner.run())
        while not run.done():
            await asyncio.wait({run}, timeout=0.2)
            stats = runner.stats
            progress.update(
                task,
                completed=runner.source.stats.frames,
                rate=stats.events_per_second,
                kept=stats.posts_inserted,
            )
        await run


async def _status_lines(runner: Any) -> None:
    while True:
        await asyncio.sleep(STATUS_EVERY_SECONDS)
        stats, source = runner.stats, runner.source.stats
        if stats.scorer_waiting_since is not None:
            continue  # ingest logs each try while it waits on the scorer
        log.info(
            "%d events (%.0f/s), kept %d, skipped %d, cursor %s, lag %.2fs, queue %d, reconnects %d",
            stats.events,
            stats.events_per_second,
            stats.posts_inserted,
            stats.skipped,
            stats.cursor,
            stats.last_lag_seconds,
            stats.queue_depth,
            max(0, source.connects - 1),
        )


@click.command()
@click.option(
    "--source", "source_spec", type=click.Choice(["relay", "jetstream"]), default="relay", show_default=True
)
@click.option(
    "--endpoint", default=None, help="Base URL (default FEEDGEN_SUBSCRIPTION_ENDPOINT / the Jetstream one)."
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Capture file to write."
)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after this many frames.")
@click.option(
    "--duration", type=click.FloatRange(min=0, min_open=True), default=None, help="Stop after S seconds."
)
@click.option("--cursor", type=int, default=None, help="Start at this seq (default: the live tip).")
@click.option("--quiet", "-q", is_flag=True)
def capture(
    source_spec: str,
    endpoint: str | None,
    out: Path,
    limit: int | None,
    duration: float | None,
    cursor: int | None,
    quiet: bool,
) -> None:
    """Record a live stream's frames into a capture file, for replay, tests and classifier backtests.

    Stops at --limit frames, after --duration seconds, or on SIGINT/SIGTERM; the file is complete
    either way.

    Example: gitfeed capture --out frames.bin.zst --duration 60
    """
    from firehose.capture import CaptureWriter
    from firehose.sources import SourceError, build_source

    if limit is None and duration is None:
        raise click.UsageError("give --limit N or --duration S (or both)")
    settings = common.settings()
    common.setup_logging(quiet)
    try:
        source = build_source(source_spec, settings, endpoint=endpoint)
    except SourceError as error:
        raise click.ClickException(str(error)) from error
    source.cursor = cursor

    async def record(writer: CaptureWriter) -> None:
        task = asyncio.current_task()
        common.on_signals(task.cancel)  # type: ignore[union-attr]
        frames = source.raw_frames()  # type: ignore[attr-defined]
        try:
            async with asyncio.timeout(duration):
                async for raw in frames:
                    writer.write(raw)
                    if limit is not None and writer.frames >= limit:
                        break
        except (TimeoutError, asyncio.CancelledError):
            pass  # --duration is up, or a signal: the file is closed below, complete either way
        finally:
            await frames.aclose()

    try:
        with CaptureWriter(out) as writer:
            common.run_async(record(writer))
    except OSError as error:
        raise click.ClickException(f"cannot write {out}: {error}") from error
    except SourceError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"captured {writer.frames} frames to {out}")


def collect_stats(database: Any, settings: Settings, target: Path | str) -> dict[str, Any]:
    """Everything `gitfeed stats` prints, as one JSON-ready dict (the store's ingest status)."""
    from firehose.store import backend, status
    from firehose.topics import TOPICS

    conn = database.conn
    sources = sorted(status.sources(conn, time.time()), key=lambda s: s.updated_ts, reverse=True)
    counters = status.counters(conn)
    size = backend.store_bytes(conn, target)
    return {
        "cursor": sources[0].cursor if sources else None,
        "posts": status.posts_stored(conn),
        "events_seen": counters.get("events_seen", 0),
        "frames_skipped": counters.get("frames_skipped", 0),
        "posts_seen": counters.get("posts_seen", 0),
        "posts_kept": counters.get("posts_kept", 0),
        "posts_by_topic": status.posts_by_topic(conn, settings.thresholds),
        "kept_by_topic": {topic: counters.get(f"kept_{topic}", 0) for topic in TOPICS},
        **{name: counters.get(name, 0) for name in status.CAP_COUNTERS},
        "lag_seconds": round(sources[0].lag_seconds, 3) if sources else None,
        "sources": [source.summary() for source in sources],
        "db_bytes": size,
        "db_path": backend.describe(target),
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@DB_OPTION
def stats(as_json: bool, db: str | None) -> None:
    """What ingest has done: cursor, posts stored and kept per topic, events seen, skipped frames, lag.

    Example: gitfeed stats --json --db gitfeed.db
    """
    settings = common.settings(sqlite_location=db)
    database = common.open_store(settings.store_target, create=False)
    try:
        data = collect_stats(database, settings, settings.store_target)
    finally:
        database.close()
    if as_json:
        click.echo(json.dumps(data))
        return
    width = max(len(key) for key in data)
    for key, value in data.items():
        if key == "sources":
            for source in value:
                line = f"{source['service']} cursor {source['cursor']} lag {source['lag_seconds']}s"
                click.echo(f"{'source':<{width}}  {line}")
        else:
            click.echo(f"{key:<{width}}  {value}")
