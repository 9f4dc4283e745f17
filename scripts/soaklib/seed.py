"""The store a soak starts from: every feed already at its cap, by authors no streamed event names.

A server in production runs on a store that already holds its feeds. Started on an empty one, the
soak's serving figures (RSS above all) grow with the feeds' contents through the whole run, each feed
filling towards FEEDGEN_FEED_MAX_POSTS, which says nothing about a leak. `seed_store` writes N posts
before `gitfeed run` starts, so the run measures the steady state.

Each seeded post is a real `app.bsky.feed.post` record (text, a GitHub link facet and card, an arXiv
link, langs, createdAt; its cid the record's) made into its `posts` row by ingest's own `post_row`,
with scores over the thresholds as the classifier would give them, and likes and reposts. Of every 8
posts, 6 link a GitHub repository and are about ML (github, ml, all, links), one links GitHub only
(github, all, links) and one is ML only (ml, all): 12,000 posts put 10,500 in github, ml and links and
12,000 in all, over the default cap of 10,000.

Times: indexed 1 to 6 hours before the run, inside any retention (ingest prunes by indexed time).
Created as long before the streamed posts' own createdAt (`streamed_created_ts`: the capture's,
2026-07-04 for the synthetic one; now for a fresh capture), so they rank alongside the stream's posts
(instead of months above them), and the links feed, newest first, gives way to the stream as it fills.

Authors are `did:plc:soakseed` + 16 base32 characters. The streamed DIDs are the capture's, with only
their first two characters rewritten per loop (`scripts.soaklib.stream.loop_did`), so no streamed event
deletes, edits or likes a seeded post; the audit (`audit_db(..., seeded=...)`) leaves them out of its
expected state and checks that every one is still there, unchanged.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

SEED_AUTHOR_PREFIX = "did:plc:soakseed"
DEFAULT_SEED_POSTS = 12_000
POSTS_PER_AUTHOR = 6
OLDEST_HOURS, NEWEST_HOURS = 6.0, 1.0  # seeded posts' ages, before the run (indexed) and the stream (created)
_B32 = "abcdefghijklmnopqrstuvwxyz234567"

_ML_REPOS = (
    "huggingface/transformers",
    "pytorch/pytorch",
    "ggml-org/llama.cpp",
    "vllm-project/vllm",
    "karpathy/nanoGPT",
    "tinygrad/tinygrad",
    "huggingface/peft",
    "EleutherAI/lm-evaluation-harness",
    "openai/whisper",
    "Lightning-AI/litgpt",
)
_CODE_REPOS = (
    "astral-sh/ruff",
    "bluesky-social/atproto",
    "simonw/datasette",
    "fastapi/fastapi",
    "rust-lang/rust",
    "MarshalX/atproto",
    "sqlite/sqlite",
    "neovim/neovim",
)
_ML_PHRASES = (
    "fine-tuning a small model on our own dataset",
    "the eval numbers finally look right after fixing the tokenizer",
    "LoRA adapters cut training memory in half on one GPU",
    "a clean implementation of attention with rotary embeddings",
    "quantized inference runs on a laptop now",
    "benchmark results for long-context retrieval",
    "diffusion sampling in fewer steps",
)
_CODE_PHRASES = (
    "just shipped a new release",
    "the bug fix we needed for CI",
    "this library deserves more stars",
    "refactored the parser and the tests still pass",
    "a weekend project that got out of hand",
)


@dataclass
class Seed:
    """What `seed_store` wrote: uri -> (cid, like_count, repost_count, score_github, score_ml), and how
    many of them each feed selects."""

    posts: dict[str, tuple[str, int, int, float, float]] = field(default_factory=dict)
    per_feed: dict[str, int] = field(default_factory=dict)
    authors: int = 0
    created_ts: tuple[float, float] = (0.0, 0.0)  # oldest, newest

    def describe(self, cap: int) -> str:
        feeds = ", ".join(f"{name} {n:,}" for name, n in self.per_feed.items())
        short = [name for name, n in self.per_feed.items() if n < cap]
        created = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(self.created_ts[1]))
        return (
            f"{len(self.posts):,} posts by {self.authors:,} authors ({SEED_AUTHOR_PREFIX}...), indexed "
            f"{NEWEST_HOURS:g}-{OLDEST_HOURS:g} h before the run, created up to {created}; per feed: {feeds} "
            f"(cap {cap:,}" + (f"; under it: {short})" if short else ")")
        )


def seed_author(index: int) -> str:
    """The DID of seeded author `index`: `did:plc:soakseed` + 16 base32 characters (24 after did:plc:)."""
    mixed = (index * 0x9E3779B97F4A7C15F39D) % (1 << 80)  # odd multiplier: one author per index
    digits = "".join(_B32[(mixed >> (5 * k)) & 31] for k in range(16))
    return SEED_AUTHOR_PREFIX + digits


def _text(rng: random.Random, kind: str, repo: str | None) -> tuple[str, dict | None, list[dict]]:
    """A post's text, its link card (or None) and its link facets."""
    from tests.support import framegen as fg

    phrase = rng.choice(_CODE_PHRASES if kind == "github" else _ML_PHRASES)
    if repo is None:
        url = f"https://arxiv.org/abs/{rng.randint(2301, 2611)}.{rng.randint(10000, 29999)}"
        text = f"{phrase}: {url}"
        return (
            text,
            fg.external_embed(url, phrase.capitalize(), "arXiv preprint"),
            [fg.link_facet(text, url, url)],
        )
    url = f"https://github.com/{repo}"
    shown = url.removeprefix("https://")
    text = f"{phrase} {shown}"
    card = fg.external_embed(url, f"GitHub - {repo}", phrase.capitalize()) if rng.random() < 0.7 else None
    return text, card, [fg.link_facet(text, shown, url)]


def seed_rows(
    count: int,
    thresholds: Mapping[str, float],
    *,
    indexed_before: float,
    created_before: float,
    rng_seed: int = 1,
) -> list[dict]:
    """`count` posts rows (post_row's columns plus like_count and repost_count), pure. Ages run evenly
    from OLDEST_HOURS to NEWEST_HOURS before `indexed_before` (indexed_ts) and `created_before`
    (createdAt)."""
    from firehose.detect import github_links
    from firehose.events import PostUpserted
    from firehose.store.rows import KeptPost, post_row
    from tests.support import framegen as fg

    rng = random.Random(rng_seed)
    gh, ml = thresholds.get("github", 0.5), thresholds.get("ml", 0.5)
    authors = max(1, count // POSTS_PER_AUTHOR)
    rows = []
    for i in range(count):
        kind = "github" if i % 8 == 0 else "ml" if i % 8 == 1 else "both"
        repo = None if kind == "ml" else rng.choice(_CODE_REPOS if kind == "github" else _ML_REPOS)
        text, card, facets = _text(rng, kind, repo)
        age = (OLDEST_HOURS - (OLDEST_HOURS - NEWEST_HOURS) * i / max(1, count - 1)) * 3600.0
        created_us = int((created_before - age) * 1e6)
        record = fg.post_record(
            text,
            created_at=fg.iso_time(created_us),
            langs=rng.choice((("en",), ("en",), ("en",), ("de",), ("ja",))),
            facets=facets,
            embed=card,
        )
        scores = {
            "github": gh + (1 - gh) * rng.uniform(0.1, 1.0) if kind != "ml" else gh * rng.uniform(0.0, 0.6),
            "ml": ml + (1 - ml) * rng.uniform(0.1, 1.0) if kind != "github" else ml * rng.uniform(0.0, 0.6),
        }
        event = PostUpserted(
            cursor=0,
            did=seed_author((i * 7919) % authors),
            rkey=fg.tid(created_us, i % 1024),
            cid=fg.record_cid(record),
            record=record,
        )
        row = post_row(event, KeptPost(scores=scores, links=github_links(record)), indexed_before - age)
        row["like_count"] = min(500, int(rng.paretovariate(1.2)) - 1)
        row["repost_count"] = row["like_count"] // rng.randint(3, 10)
        rows.append(row)
    return rows


def write_rows(db: Path | str, rows: list[dict]) -> None:
    """Insert `rows` into the store `db` names (SQLite file or postgresql:// URL; created and migrated
    by `open_db` as ingest would), in one transaction."""
    from firehose.store.backend import write_transaction
    from firehose.store.schema import open_db

    if not rows:
        return
    columns = list(rows[0])
    sql = f"INSERT INTO posts ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    store = open_db(db, create=True)
    try:
        with write_transaction(store.conn):
            store.conn.executemany(sql, [[row[c] for c in columns] for row in rows])
    finally:
        store.close()


def feed_counts(db: Path | str, thresholds: Mapping[str, float]) -> dict[str, int]:
    """How many seeded posts each feed's query selects (`feedserver.feeds.FEEDS`, their `where`)."""
    from feedserver.feeds import FEEDS, feed_params
    from firehose.store.schema import open_db

    store = open_db(db, create=False, migrate=False)
    try:
        params = {"prefix": SEED_AUTHOR_PREFIX + "%", **feed_params(dict(thresholds))}
        return {
            name: store.conn.execute(
                f"SELECT count(*) FROM posts WHERE author LIKE :prefix AND ({feed.where})", params
            ).fetchone()[0]
            for name, feed in FEEDS.items()
        }
    finally:
        store.close()


def seed_store(
    db: Path | str,
    count: int,
    thresholds: Mapping[str, float],
    *,
    created_before: float | None = None,
    now: float | None = None,
    rng_seed: int = 1,
) -> Seed:
    """Write `count` seeded posts into `db` (see the module docstring); returns what was written."""
    now = time.time() if now is None else now
    created_before = now if created_before is None else min(created_before, now)
    rows = seed_rows(count, thresholds, indexed_before=now, created_before=created_before, rng_seed=rng_seed)
    write_rows(db, rows)
    return Seed(
        posts={
            r["uri"]: (r["cid"], r["like_count"], r["repost_count"], r["score_github"], r["score_ml"])
            for r in rows
        },
        per_feed=feed_counts(db, thresholds) if rows else {},
        authors=len({r["author"] for r in rows}),
        created_ts=(rows[0]["created_ts"], rows[-1]["created_ts"]) if rows else (0.0, 0.0),
    )


def streamed_created_ts(capture: Path | str, posts: int = 101) -> float | None:
    """The median createdAt of the capture's first `posts` posts (every loop of the served stream repeats
    its records), or None when it has none."""
    from firehose.capture import iter_capture
    from firehose.decode.relay import decode_frame
    from firehose.events import PostUpserted
    from firehose.store.rows import parse_timestamp

    found: list[float] = []
    for frame in iter_capture(capture):
        for event in decode_frame(frame):
            if type(event) is PostUpserted:
                ts = parse_timestamp(event.record.get("createdAt"), 0.0)
                if ts > 0:
                    found.append(ts)
        if len(found) >= posts:
            break
    return median(found) if found else None
