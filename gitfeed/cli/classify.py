"""Classifier commands: train the heads, classify a text, evaluate on labeled posts, explain a stored post.

torch loads inside these commands only (the CLI imports this module lazily).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gitfeed.cli import common
from gitfeed.cli.common import DB_OPTION

if TYPE_CHECKING:
    from firehose.classify.evaluate import Mistake


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


REAL_POSTS_OPTION = click.option(
    "--real-posts",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The real posts, read in place (default: shared/corpus/real-posts/posts.jsonl beside the checkout).",
)
LABELS_OPTION = click.option(
    "--labels",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Labels of the real posts by id (default: firehose/classify/data/real_labels.jsonl).",
)


def _real_posts(real_posts: Path | None, labels: Path | None, split: str, *, required: bool = True):  # noqa: ANN202
    from firehose.classify.evaluate import EvalDataError
    from firehose.classify.realdata import DEFAULT_LABELS_PATH, default_posts_path, load_real

    path = real_posts or default_posts_path()
    if path is None and not required:
        return []
    if path is None:
        raise click.ClickException(
            "no real posts found: pass --real-posts PATH (shared/corpus/real-posts/posts.jsonl)"
        )
    try:
        return load_real(path, labels or DEFAULT_LABELS_PATH, split=split)
    except EvalDataError as error:
        raise click.ClickException(str(error)) from error


def _operator_posts(db: Path, split: str):  # noqa: ANN202 - list[LabeledPost]
    """The operator's labels in the database at `db` (`gitfeed label`), one split of them."""
    from firehose.classify.realdata import load_operator

    database = common.open_store(db)
    try:
        return load_operator(database.conn, split=split)
    finally:
        database.close()


OPERATOR_DB_OPTION = click.option(
    "--db",
    "db",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also the operator's labels in this database (gitfeed label), as real posts of kind operator.",
)


@click.command()
@click.option(
    "--data",
    "data_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory with the written train.jsonl (default: firehose/classify/data).",
)
@REAL_POSTS_OPTION
@LABELS_OPTION
@OPERATOR_DB_OPTION
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Directory for heads.npz (default: firehose/classify/heads).",
)
def train(
    data_dir: Path | None, real_posts: Path | None, labels: Path | None, db: Path | None, out_dir: Path | None
) -> None:
    """Train the classifier on real posts (train split) and the written set; write heads.npz (no pickle).

    Thresholds are chosen on out-of-fold scores of the real posts, at the network's base rate. With
    --db, the operator's labels (`gitfeed label`, their train split) join the real posts.

    Example: gitfeed train --db gitfeed.db --out /tmp/heads
    """
    from firehose.classify import Embedder, ModelNotFoundError
    from firehose.classify.evaluate import EvalDataError
    from firehose.classify.heads import DEFAULT_HEADS_PATH
    from firehose.classify.train import DATA_DIR
    from firehose.classify.train import train as run_train

    out_path = (out_dir / "heads.npz") if out_dir else DEFAULT_HEADS_PATH
    settings = common.settings()
    try:  # a place it cannot write is found now, not after minutes of embedding
        out_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise click.ClickException(f"cannot write {out_path}: {error.strerror or error}") from error
    real = _real_posts(real_posts, labels, "train", required=db is None)
    operator = _operator_posts(db, "train") if db is not None else []
    real = [*real, *operator]
    try:
        embedder = Embedder(
            settings.model,
            device=settings.device,
            precision=settings.embed_precision,
            max_seq_length=settings.embed_max_seq_length,
            threads=settings.embed_threads,
        )
        with _progress("embedding", len(real) + 2000) as advance:
            report = run_train(
                out_path,
                embedder,
                real_posts=real,
                written_path=(data_dir or DATA_DIR) / "train.jsonl",
                progress=advance,
            )
    except (EvalDataError, ModelNotFoundError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"trained on {report.n_real} real ({len(operator)} labeled by the operator) and "
        f"{report.n_written} written posts in {report.seconds:.0f}s with {embedder.describe()}"
    )
    for topic, figures in report.cv.items():
        click.echo(
            f"  {topic}: out-of-fold F1 {figures['real_f1_oof']:.3f} on real posts, "
            f"{figures['written_f1_oof']:.3f} on written; first stage passes "
            f"{figures['gate_pass_rate_random_oof']:.1%} of the random sample"
        )
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
        click.echo("the first stage turned it away before the model (no topic had any chance)")
    elif not explanation.readable:
        click.echo(f"language {explanation.language}: the encoder does not read it, scored without the model")
    if explanation.lexicon:
        click.echo(f"lexicon: {', '.join(explanation.lexicon)}")


@click.command(name="eval")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False), required=False)
@click.option("--real", is_flag=True, help="Measure on the real posts (the held-out test split) instead.")
@click.option(
    "--split",
    type=click.Choice(["test", "train", "all"]),
    default="test",
    show_default=True,
    help="With --real or --db: which split of the real posts or the operator's labels.",
)
@REAL_POSTS_OPTION
@LABELS_OPTION
@OPERATOR_DB_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--show", default=20, show_default=True, help="How many false positives and negatives to list.")
def eval_command(
    file: Path | None,
    real: bool,
    split: str,
    real_posts: Path | None,
    labels: Path | None,
    db: Path | None,
    as_json: bool,
    show: int,
) -> None:
    """Precision, recall, F1 and admission rate per topic, kind of post and language, via ingest's path.

    FILE: labeled JSONL, each line {"id", "labels": ["github", "ml"], "record": {app.bsky.feed.post}}.
    With --real: the real posts of shared/corpus/real-posts and our labels; on the `random` kind (an
    unfiltered firehose sample) precision is what a subscriber sees and admission can be compared with
    the true share of on-topic posts. With --db: the operator's labels in that database (`gitfeed
    label`), kind `operator`: real posts, though not a random sample (mostly the classifier's least
    sure). FILE, --real and --db add up.

    Example: gitfeed eval --db gitfeed.db
    """
    from firehose.classify.evaluate import EvalDataError, evaluate, load_jsonl

    settings = common.settings()
    if not real and file is None and db is None:
        raise click.ClickException("give a labeled FILE, --real or --db")
    posts = _real_posts(real_posts, labels, split) if real else []
    if db is not None:
        posts += _operator_posts(db, split)
    if file is not None:
        try:
            posts += load_jsonl(file)
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
    figures = report.to_json()
    prefilter = "on" if scorer.use_prefilter else "off"
    counts = scorer.counts
    click.echo(
        f"{report.n} posts ({report.uncertain} with an uncertain label left out; "
        f"{scorer.embedder.describe()}, prefilter {prefilter}: "
        f"{counts.passed / max(1, counts.seen):.1%} passed, "
        f"{counts.embedded / max(1, counts.seen):.1%} reached the model)"
    )
    on_topic = [post for post in posts if post.labels and not post.uncertain]
    if on_topic and scorer.use_prefilter:
        kept = int(scorer.first_stage([post.record for post in on_topic]).sum())
        click.echo(f"the first stage sent {kept} of {len(on_topic)} on-topic posts on to the heads")
    header = f"{'topic':8s} {'slice':14s} {'precision':>9s} {'recall':>7s} {'f1':>6s}   tp   fp   fn"
    click.echo(header + "  admitted  on-topic")
    for topic in report.topics:
        rows = [("all", figures[topic])]
        rows += [(f"kind {k or '-'}", v) for k, v in figures[topic].get("by_kind", {}).items()]
        admitted = {
            k: v for k, v in figures[topic].get("by_language", {}).items() if v["tp"] + v["fp"] + v["fn"]
        }
        rows += [(f"lang {k}", v) for k, v in sorted(admitted.items(), key=lambda kv: -kv[1]["n"])]
        for name, f in rows:
            click.echo(
                f"{topic:8s} {name:14s} {f['precision']:9.3f} {f['recall']:7.3f} {f['f1']:6.3f} {f['tp']:4d} "
                f"{f['fp']:4d} {f['fn']:4d}  {f['admission']:8.2%}  {f['prevalence']:8.2%}"
            )
    _list_mistakes("false positives", report.false_positives, show, texts=not real)
    _list_mistakes("false negatives", report.false_negatives, show, texts=not real)


def _list_mistakes(kind: str, mistakes: Sequence[Mistake], show: int, *, texts: bool) -> None:
    """The first `show` mistakes: with their texts for written files, ids only for real posts."""
    if not mistakes:
        return
    if texts:
        click.echo(f"{kind} ({len(mistakes)}):")
        for mistake in mistakes[:show]:
            text = " ".join(mistake.text.split())[:100]
            click.echo(f"  {mistake.topic:6s} {mistake.score:.2f} {mistake.id}: {text}")
    else:
        ids = ", ".join(f"{m.topic}:{m.id}" for m in mistakes[:show])
        click.echo(f"{kind} ({len(mistakes)}; texts stay in shared/): {ids}")


@click.command()
@click.argument("uri")
@DB_OPTION
@click.option("--rescore", is_flag=True, help="Also score the stored text with the current model.")
def explain(uri: str, db: str | None, rescore: bool) -> None:
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
        from firehose.store.labels import record_from_post

        explanation = _scorer(settings).explain(record_from_post(post))
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
