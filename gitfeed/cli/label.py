"""`gitfeed label`: the operator labels the posts the classifier is least sure of (the label queue).

Thin (STYLE 1): the queue and the labels are `firehose.store.labels`; /admin shows the same queue.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from gitfeed.cli import common
from gitfeed.cli.common import DB_OPTION

WHY = {
    "uncertain": "scored near a threshold",
    "recent_admission": "a sample of recent admissions",
    "show_less": "a subscriber asked to see less of it",
}
KEYS = "g = github, m = ml, b = both, n = neither, s = skip, q = quit"


def _show(item, thresholds: dict[str, float], position: str) -> None:  # noqa: ANN001 - labels.QueueItem
    why = WHY.get(item.reason, item.reason) + (f" ({item.requests} requests)" if item.requests > 1 else "")
    click.echo(f"\n[{position}] {item.uri}\n  why: {why}")
    scores = ", ".join(
        f"{topic} {score:.3f} ({'in' if score >= thresholds.get(topic, 1.0) else 'out'}, threshold "
        f"{thresholds.get(topic, 1.0):.2f})"
        for topic, score in item.scores.items()
    )
    click.echo(f"  scores: {scores}")
    click.echo(f"  text: {' '.join(item.text.split())[:500] or '(empty)'}")
    card = item.card
    if card:
        click.echo(
            f"  card: {card.get('title', '')} — {card.get('description', '')[:200]} <{card.get('uri', '')}>"
        )
    for alt in item.alts:
        click.echo(f"  alt: {' '.join(alt.split())[:200]}")


@click.command()
@click.argument("uri", required=False)
@click.option("--as", "as_labels", default=None, help="With URI: its labels (ml,github, both or neither).")
@click.option("--list", "list_only", is_flag=True, help="List the queue instead of labeling.")
@click.option("--json", "as_json", is_flag=True, help="With --list (or URI --as): JSON.")
@click.option(
    "--reason",
    type=click.Choice(["uncertain", "recent_admission", "show_less"]),
    default=None,
    help="Only posts queued for this reason.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="Posts listed or shown."
)
@DB_OPTION
def label(
    uri: str | None,
    as_labels: str | None,
    list_only: bool,
    as_json: bool,
    reason: str | None,
    limit: int,
    db: Path | None,
) -> None:
    """Label queued posts (the classifier's least sure, recent admissions, subscribers' "show less"):
    one by one, answering g (github), m (ml), b (both), n (neither), s (skip) or q (quit).

    The labels go into the database; `gitfeed train --db` trains on them, `gitfeed eval --db` measures
    on them. With URI and --as, label one post without asking; with --list, print the queue.

    Example: gitfeed label --db gitfeed.db
    """
    from firehose.store import labels

    settings, database = common.store(db)
    conn = database.conn
    try:
        if uri is not None:
            if as_labels is None:
                raise click.UsageError("give the labels with --as (e.g. --as ml,github, or --as neither)")
            try:
                done = labels.add_label(conn, uri, as_labels, time.time())
            except labels.LabelError as error:
                raise click.ClickException(str(error)) from error
            if as_json:
                click.echo(json.dumps(done.to_json()))
            else:
                click.echo(f"labeled {uri}: {', '.join(sorted(done.labels)) or 'neither'}")
            return
        items = labels.queue(conn, limit=limit, reason=reason)
        if list_only:
            if as_json:
                click.echo(
                    json.dumps({"counts": labels.queue_counts(conn), "queue": [i.to_json() for i in items]})
                )
                return
            counts = ", ".join(f"{name} {n}" for name, n in labels.queue_counts(conn).items())
            click.echo(f"label queue: {counts}")
            for item in items:
                scores = " ".join(f"{t} {s:.2f}" for t, s in item.scores.items())
                click.echo(f"{item.reason:16s} {scores}  {item.uri}  {' '.join(item.text.split())[:80]}")
            return
        _interactive(conn, items, settings.thresholds)
    finally:
        database.close()


def _interactive(conn, items, thresholds: dict[str, float]) -> None:  # noqa: ANN001
    from firehose.store import labels

    if not items:
        click.echo("the label queue is empty")
        return
    click.echo(f"{len(items)} queued posts; {KEYS}")
    counted = {"labeled": 0, "skipped": 0}
    for n, item in enumerate(items, start=1):
        _show(item, thresholds, f"{n}/{len(items)}")
        answer = click.prompt("  label", type=click.Choice(["g", "m", "b", "n", "s", "q"]), show_choices=True)
        if answer == "q":
            break
        if answer == "s":
            counted["skipped"] += 1
            continue
        labels.add_label(conn, item.uri, answer, time.time())
        counted["labeled"] += 1
    click.echo(f"labeled {counted['labeled']}, skipped {counted['skipped']}")
