"""Classifier commands: train the heads, classify a text, evaluate on labeled posts, explain a stored post.

torch loads inside these commands only (the CLI imports this module lazily).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gitfeed.cli import common
from gitfeed.cli.common import DB_OPTION


def _scorer(settings):  # noqa: ANN001, ANN202 - EmbeddingScorer
    from firehose.classify import HeadsError, ModelNotFoundError, build_scorer

    try:
        return build_scorer(settings)
    except (ModelNotFoundError, HeadsError, ValueError) as error:
        raise click.ClickException(str(error)) from error


@contextmanager
def _progress(label: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr; a no-op callback when disabled (e.g. --json)."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def _post_record(text: str) -> dict[str, Any]:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": "1970-01-01T00:00:00.000Z", "langs": []}


@click.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory with train.jsonl (default: the dataset in firehose/classify/data).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for heads.npz (default: firehose/classify/heads).",
)
@click.option("--no-prefilter", is_flag=True, help="Do not calibrate the cheap first stage.")
def train(data_dir: Path | None, out_dir: Path | None, no_prefilter: bool) -> None:
    """Train the topic heads on labeled posts and write them as npz arrays (no pickle).

    Example: gitfeed train --data firehose/classify/data --out /tmp/heads
    """
    from firehose.classify import Embedder, ModelNotFoundError
    from firehose.classify.evaluate import EvalDataError, load_jsonl
    from firehose.classify.heads import DEFAULT_HEADS_PATH
    from firehose.classify.train import DATA_DIR
    from firehose.classify.train import train as run_train

    data_dir = data_dir or DATA_DIR
    out_path = (out_dir / "heads.npz") if out_dir else DEFAULT_HEADS_PATH
    settings = common.settings()
    try:
        total = len(load_jsonl(data_dir / "train.jsonl"))
        embedder = Embedder(
            settings.model,
            device=settings.device,
            precision="fp32",
            max_seq_length=settings.embed_max_seq_length,
            threads=settings.embed_threads,
        )
        with _progress("embedding", total) as advance:
            report = run_train(data_dir, out_path, embedder, progress=advance, prefilter=not no_prefilter)
    except (EvalDataError, ModelNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"trained on {report.n} posts in {report.seconds:.0f}s with {embedder.describe()}")
    for topic, f1 in report.cv_f1.items():
        click.echo(f"  {topic}: cross-validated F1 {f1:.3f} (folds keep phrasing groups apart)")
    click.echo(f"wrote {report.path}")


@click.command()
@click.argument("text")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
def classify(text: str, as_json: bool) -> None:
    """Score a text on every topic and say which feeds it would enter.

    Example: gitfeed classify "fine-tuned Llama with LoRA, code on github.com/me/tune"
    """
    from firehose.classify import kept_topics

    settings = common.settings()
    scorer = _scorer(settings)
    record = _post_record(text)
    explanation = scorer.explain(record)
    kept = kept_topics(explanation.scores, settings.thresholds)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "scores": explanation.scores,
                    "thresholds": settings.thresholds,
                    "kept": kept,
                    "prefilter_passed": explanation.prefilter_passed,
                }
            )
        )
        return
    for topic in scorer.topics:
        score, threshold = explanation.scores[topic], settings.thresholds[topic]
        verdict = "keep" if topic in kept else "skip"
        click.echo(f"{topic:7s} {score:.3f}  (threshold {threshold:.2f})  {verdict}")
    if scorer.use_prefilter and not explanation.prefilter_passed:
        click.echo("the prefilter turned it away before the model (no topic had any chance)")


@click.command(name="eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--json", "as_json", is_flag=True, help="Print {n, github: {precision, recall, f1}, ml: {...}}."
)
@click.option("--show", default=20, show_default=True, help="How many false positives to list.")
def eval_command(file: Path, as_json: bool, show: int) -> None:
    """Precision, recall and F1 per topic on a labeled JSONL file, via the same path as ingest.

    Each line: {"id": ..., "labels": ["github", "ml"], "record": {app.bsky.feed.post record}}.

    Example: gitfeed eval firehose/classify/data/heldout.jsonl --json
    """
    from firehose.classify.evaluate import EvalDataError, evaluate, load_jsonl

    settings = common.settings()
    try:
        posts = load_jsonl(file)
    except EvalDataError as error:
        raise click.ClickException(str(error)) from error
    scorer = _scorer(settings)
    with _progress("scoring", len(posts), enabled=not as_json) as advance:
        report = evaluate(
            posts,
            scorer.score,
            settings.thresholds,
            topics=scorer.topics,
            batch_size=scorer.embedder.batch_size,
            progress=advance,
        )
    if as_json:
        click.echo(json.dumps(report.to_json()))
        return
    prefilter = "on" if scorer.use_prefilter else "off"
    click.echo(f"{report.n} posts ({scorer.embedder.describe()}, prefilter {prefilter})")
    click.echo(f"{'topic':8s} {'precision':>9s} {'recall':>7s} {'f1':>6s}   tp   fp   fn  threshold")
    for topic in report.topics:
        m = report.metrics[topic]
        click.echo(
            f"{topic:8s} {m.precision:9.3f} {m.recall:7.3f} {m.f1:6.3f} {m.tp:4d} {m.fp:4d} {m.fn:4d}"
            f"  {report.thresholds[topic]:.2f}"
        )
    if report.false_positives:
        click.echo(f"false positives ({len(report.false_positives)}):")
        for mistake in report.false_positives[:show]:
            text = " ".join(mistake.text.split())[:100]
            click.echo(f"  {mistake.topic:6s} {mistake.score:.2f} {mistake.id}: {text}")


@click.command()
@click.argument("uri")
@DB_OPTION
@click.option("--rescore", is_flag=True, help="Also score the stored text with the current model.")
def explain(uri: str, db: Path | None, rescore: bool) -> None:
    """Why a stored post is or is not in each feed: scores vs thresholds, links, moderation.

    Example: gitfeed explain at://did:plc:abc/app.bsky.feed.post/3k2a --db gitfeed.db
    """
    settings, database = common.store(db)
    cursor = database.conn.execute("SELECT * FROM posts WHERE uri = ?", (uri,))
    row = cursor.fetchone()
    if row is None:
        raise click.ClickException(
            f"{uri} is not stored: ingest never saw it, it scored under every threshold when it was seen "
            "(only kept posts are stored), or it was deleted or pruned"
        )
    post = dict(zip([c[0] for c in cursor.description], row, strict=True))
    click.echo(f"{uri}\n  by {post['author']} at {post['created_at']}")
    click.echo(f"  text: {' '.join(post['text'].split())[:200]}")
    if post["card_title"] or post["card_description"]:
        click.echo(f"  card: {post['card_title']} — {post['card_description'][:120]}")
    urls, repos = json.loads(post["github_urls"] or "[]"), json.loads(post["repos"] or "[]")
    click.echo(
        f"  GitHub links: {', '.join(urls) if urls else 'none'}"
        + (f" (repos: {', '.join(repos)})" if repos else "")
    )
    for topic, threshold in settings.thresholds.items():
        score = post.get(f"score_{topic}", 0.0)
        relation = "reaches" if score >= threshold else "is under"
        click.echo(f"  {topic}: score {score:.3f} {relation} the threshold {threshold:.2f}")
    if rescore:
        record = _post_record(post["text"])
        if post["card_title"] or post["card_description"]:
            card = {
                "uri": urls[0] if urls else "",
                "title": post["card_title"],
                "description": post["card_description"],
            }
            record["embed"] = {"$type": "app.bsky.embed.external", "external": card}
        explanation = _scorer(settings).explain(record)
        scores = ", ".join(f"{t} {s:.3f}" for t, s in explanation.scores.items())
        click.echo(
            f"  current model: {scores}" + ("" if explanation.prefilter_passed else " (prefilter: no chance)")
        )

    from feedserver.feeds import FEEDS, feeds_selecting
    from feedserver.moderation import hidden_reasons, load_moderation

    conn = database.conn
    moderation = load_moderation(conn)
    reasons = hidden_reasons(
        conn,
        moderation,
        uri,
        post["author"],
        reply=bool(post["reply_parent"]),
        include_replies=settings.include_replies,
    )
    selecting = feeds_selecting(conn, settings.thresholds, uri)
    for name in FEEDS:
        if uri in moderation.pins_for(name):
            verdict = "IN (pinned)"
        elif name in selecting and not reasons:
            verdict = "IN"
        elif name in selecting:
            verdict = "OUT: " + "; ".join(reasons)
        else:
            verdict = (
                "OUT: its scores are under this feed's thresholds"
                if name != "links"
                else "OUT: no GitHub link"
            )
        click.echo(f"  feed {name}: {verdict}")
