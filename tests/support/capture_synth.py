"""A realistic synthetic relay capture, for the ingest benchmark and for tests that need volume.

The mix follows the live network: mostly likes and follows, about 9% posts (some with GitHub links
as link facets and external embeds, some with other links, images, replies), deletes of likes,
follows, reposts and posts, other collections we ignore, and #account / #identity / #sync events.
Every frame comes from tests/framegen.py: signed commits (real secp256k1), MST-shaped node blocks
(about 4-5 KB a frame, like the real ones), real CIDs. Deterministic for a given (n_events, seed).

Use: `write_synthetic_capture(path, n_events=50_000, seed=1)` -> counts per kind. With `posts=` (a list of
real `app.bsky.feed.post` records, e.g. from shared/corpus/real-posts) every post carries one of them
(text, langs, facets, embeds, alt texts; blobs and createdAt synthetic) instead of a word-list text.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from firehose.capture import CaptureWriter
from tests.support import framegen as fg

__all__ = ["real_post_record", "write_synthetic_capture", "synthetic_frames"]

_WORDS = (
    "the a new release today just shipped finally working on our model training dataset open source "
    "library python rust typescript bug fix feature paper results benchmark faster memory GPU inference "
    "transformer embeddings fine-tuning agents evals weekend coffee cat photo music game politics news "
    "weather football art drawing thread thoughts love this wow great check out my project repo code "
    "compiler database tests CI pipeline deploy kubernetes llm diffusion vision tokenizer attention"
).split()
_LANGS = [["en"]] * 14 + [["ja"], ["de"], ["pt"], ["es"], ["fr"], ["en", "es"]]
_GITHUB = [
    f"https://github.com/{o}/{r}"
    for o, r in (
        ("pytorch", "pytorch"),
        ("huggingface", "transformers"),
        ("astral-sh", "ruff"),
        ("bluesky-social", "atproto"),
        ("MarshalX", "atproto"),
        ("simonw", "datasette"),
        ("tinygrad", "tinygrad"),
        ("ggml-org", "llama.cpp"),
        ("fastapi", "fastapi"),
        ("rust-lang", "rust"),
        ("someone", "dotfiles"),
        ("octo-org", "octo-repo"),
    )
]
_OTHER_LINKS = [
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://arxiv.org/abs/1706.03762",
    "https://example.com/blog/post",
    "https://news.ycombinator.com/item?id=1",
]
_STATUSES = ["deactivated", "takendown", "deleted", "suspended"]


def _did(rng: random.Random) -> str:
    return "did:plc:" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(24))


def _text(rng: random.Random, lo: int = 3, hi: int = 40, limit: int = 240) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(lo, hi)))
    return text[:limit].rstrip()


class _Synth:
    """State of one generation run: accounts, recent posts (engagement subjects), live likes/follows."""

    def __init__(self, seed: int, n_accounts: int, posts: list[dict] | None = None) -> None:
        self.rng = random.Random(seed)
        self.real = posts or []
        self.dids = [_did(self.rng) for _ in range(n_accounts)]
        self.posts: list[tuple[str, str, str]] = []  # (did, rkey, cid) of synthetic posts
        self.likes: list[tuple[str, str]] = []
        self.reposts: list[tuple[str, str]] = []
        self.follows: list[tuple[str, str]] = []
        self.clock = 0

    def rkey(self, seq: int) -> str:
        self.clock += 1
        return fg.tid(1_783_175_888_000_000 + seq * 500, self.clock)

    def subject(self) -> tuple[str, str | None]:
        rng = self.rng
        if self.posts and rng.random() < 0.4:
            did, rkey, cid = self.posts[-1 - min(len(self.posts) - 1, int(rng.expovariate(1 / 200)))]
            return fg.post_uri(did, rkey), cid
        return fg.post_uri(rng.choice(self.dids), fg.tid(rng.getrandbits(52))), None

    def post(self, rkey: str) -> fg.Op:
        rng = self.rng
        if self.real:
            return fg.Op("create", fg.POST, rkey, real_post_record(rng.choice(self.real), rng))
        kind = rng.random()
        kw: dict = {"langs": rng.choice(_LANGS)}
        text = _text(rng)
        if kind < 0.15:  # a GitHub link: link facet + external embed (sometimes a shortened text)
            url = rng.choice(_GITHUB)
            shown = url.removeprefix("https://")
            if len(shown) > 26 and rng.random() < 0.5:
                shown = shown[:23] + "..."
            text = f"{text} {shown}"
            kw["facets"] = [fg.link_facet(text, shown, url)]
            if rng.random() < 0.7:
                kw["embed"] = fg.external_embed(
                    url, url.removeprefix("https://github.com/"), _text(rng, 5, 20)
                )
        elif kind < 0.25:  # another link
            url = rng.choice(_OTHER_LINKS)
            text = f"{text} {url}"
            kw["facets"] = [fg.link_facet(text, url, url)]
            kw["embed"] = fg.external_embed(url, _text(rng, 2, 8), _text(rng, 5, 20))
        elif kind < 0.40:  # images
            images = [
                {
                    "alt": _text(rng, 0, 6),
                    "image": fg.blob(rng.randbytes(8), size=rng.randint(10_000, 900_000)),
                }
                for _ in range(rng.randint(1, 4))
            ]
            kw["embed"] = {"$type": "app.bsky.embed.images", "images": images}
        if rng.random() < 0.25 and self.posts:
            did, prkey, cid = rng.choice(self.posts[-500:])
            uri = fg.post_uri(did, prkey)
            kw["reply"] = {"root": fg.strong_ref(uri, cid), "parent": fg.strong_ref(uri, cid)}
        return fg.post_op(rkey, text, **kw)

    def frame(self, seq: int, counts: Counter) -> bytes:
        rng = self.rng
        did = rng.choice(self.dids)
        r = rng.random()
        if r < 0.010:
            counts["identity"] += 1
            return fg.identity_frame(seq, did, f"user{rng.randrange(10**6)}.bsky.social")
        if r < 0.020:
            counts["account"] += 1
            if rng.random() < 0.7:
                return fg.account_frame(seq, did, True)
            return fg.account_frame(seq, did, False, rng.choice(_STATUSES))
        if r < 0.022:
            counts["sync"] += 1
            return fg.sync_frame(seq, did)
        # deletes come from the account that made the record
        for limit, pool, collection, name in (
            (0.025, self.posts, fg.POST, "post_delete"),
            (0.065, self.likes, fg.LIKE, "like_delete"),
            (0.070, self.reposts, fg.REPOST, "repost_delete"),
            (0.090, self.follows, fg.FOLLOW, "follow_delete"),
        ):
            if r < limit and pool:
                author, rkey = pool.pop(rng.randrange(len(pool)))[:2]
                counts[name] += 1
                return fg.commit_frame(seq, author, [fg.delete_op(collection, rkey)])
            if r < limit:
                break
        ops = [self.op(seq, did, counts) for _ in range(1 if rng.random() < 0.99 else rng.randint(2, 4))]
        return fg.commit_frame(seq, did, ops)

    def op(self, seq: int, did: str, counts: Counter) -> fg.Op:
        """One create: post ~10%, other collections ~3%, follow ~17%, repost ~9%, like the rest."""
        rng = self.rng
        r = rng.random()
        rkey = self.rkey(seq)
        if r < 0.100:
            op = self.post(rkey)
            self.posts.append((did, rkey, fg.record_cid(op.record)))
            counts["post"] += 1
            return op
        if r < 0.130:
            counts["other"] += 1
            if rng.random() < 0.5:
                block = {
                    "$type": fg.BLOCK,
                    "subject": rng.choice(self.dids),
                    "createdAt": "2026-07-04T14:38:08.999Z",
                }
                return fg.create_op(fg.BLOCK, rkey, block)
            profile = {"$type": "app.bsky.actor.profile", "displayName": _text(rng, 1, 3)}
            return fg.update_op("app.bsky.actor.profile", "self", profile)
        if r < 0.300:
            counts["follow"] += 1
            self.follows.append((did, rkey))
            return fg.follow_op(rkey, rng.choice(self.dids))
        if r < 0.390:
            counts["repost"] += 1
            self.reposts.append((did, rkey))
            return fg.repost_op(rkey, *self.subject())
        counts["like"] += 1
        self.likes.append((did, rkey))
        if len(self.likes) > 20_000:
            del self.likes[:10_000]
        return fg.like_op(rkey, *self.subject())


def real_post_record(record: dict, rng: random.Random) -> dict:
    """A real post record made fit to sign and encode: its blobs synthetic, createdAt ours, the rest as is."""

    def fix(value):  # noqa: ANN001, ANN202 - JSON values
        if isinstance(value, dict):
            if value.get("$type") == "blob" or "mimeType" in value and "ref" in value:
                return fg.blob(rng.randbytes(8), size=rng.randint(10_000, 900_000))
            return {key: fix(item) for key, item in value.items() if item is not None}
        if isinstance(value, list):
            return [fix(item) for item in value]
        return value

    out = fix(record)
    out["$type"] = fg.POST
    out["text"] = out.get("text") if isinstance(out.get("text"), str) else ""
    out["createdAt"] = "2026-07-04T14:38:06.240Z"
    return out


def synthetic_frames(
    n_events: int,
    seed: int = 1,
    *,
    first_seq: int = 1,
    counts: Counter | None = None,
    posts: list[dict] | None = None,
):
    """Yield `n_events` frames (one per seq, starting at `first_seq`); `counts` collects kinds if given;
    `posts`: real post records for the posts to carry."""
    synth = _Synth(seed, n_accounts=max(50, min(20_000, n_events // 10)), posts=posts)
    counts = counts if counts is not None else Counter()
    for seq in range(first_seq, first_seq + n_events):
        yield synth.frame(seq, counts)


def write_synthetic_capture(
    path: str | Path, n_events: int = 50_000, seed: int = 1, posts: list[dict] | None = None
) -> dict[str, int]:
    """Write a capture of `n_events` frames (seq 1..n) to `path`; returns counts per kind, frames, bytes."""
    counts: Counter = Counter()
    size = 0
    with CaptureWriter(path, flush_every=256) as writer:
        for frame in synthetic_frames(n_events, seed, counts=counts, posts=posts):
            writer.write(frame)
            size += len(frame)
    return {"frames": n_events, "frame_bytes": size, **dict(sorted(counts.items()))}
