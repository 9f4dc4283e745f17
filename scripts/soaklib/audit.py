"""The audit: what the store must hold after ingesting seqs 1..last of the served stream, and the diff.

The expected state comes from a small model of the rules (not from the writer, so it checks the
writer too): a kept post is stored once under its uri, with the cid of its last version; an edit
that no topic keeps removes it; a post delete, or a takedown/deletion of its account, removes it
with its likes and reposts; a like or repost counts when its post is stored at that moment and is
uncounted by its delete. Posts are scored with the same scorer the ingest used, once per record of
the capture (every loop of the served stream repeats the same records).

With the model scorer a post whose score lies within `tolerance` of a threshold is "borderline":
batch composition moves embedding scores by ~1e-6, so such posts are reported, not failed.

The posts the soak seeded before the run (scripts/soaklib/seed.py) are a known set apart from the
expected state: not "extra", and every one must still be stored, unchanged (cid, like and repost
counts, scores), at the end; nothing in the stream names their authors.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scripts.soaklib.stream import ServedStream, loop_did

REMOVING_STATUSES = frozenset({"takendown", "deleted"})
SCORE_BATCH = 256


@dataclass
class Expected:
    """The state the store must reach: posts uri -> (cid, author, scores); engagements -> (kind, subject)."""

    last_seq: int
    posts: dict[str, tuple[str, str, dict[str, float]]] = field(default_factory=dict)
    engagements: dict[str, tuple[str, str]] = field(default_factory=dict)
    borderline: set[str] = field(default_factory=set)
    events: int = 0
    skipped: int = 0
    deletes_applied: int = 0  # stored posts removed by a delete, an edit or a takedown

    def counts(self) -> dict[str, tuple[int, int]]:
        likes: dict[str, list[int]] = {uri: [0, 0] for uri in self.posts}
        for kind, subject in self.engagements.values():
            likes[subject][0 if kind == "like" else 1] += 1
        return {uri: (c[0], c[1]) for uri, c in likes.items()}


def _score_capture(
    per_frame: list[list], scorer: object, thresholds: Mapping[str, float], tolerance: float
) -> dict[tuple[int, int], tuple[bool, dict[str, float], bool]]:
    """(frame index, event index) of every post upsert -> (kept, scores, borderline)."""
    from firehose.events import PostUpserted
    from firehose.scoring import kept_topics

    keys = [
        (i, j) for i, events in enumerate(per_frame) for j, e in enumerate(events) if type(e) is PostUpserted
    ]
    out: dict[tuple[int, int], tuple[bool, dict[str, float], bool]] = {}
    for start in range(0, len(keys), SCORE_BATCH):
        chunk = keys[start : start + SCORE_BATCH]
        scores = scorer.score([per_frame[i][j].record for i, j in chunk])  # type: ignore[attr-defined]
        for key, s in zip(chunk, scores, strict=True):
            near = any(abs(v - thresholds.get(t, 1.0)) < tolerance for t, v in s.items())
            out[key] = (bool(kept_topics(s, thresholds)), dict(s), near)
    return out


def expected_state(
    stream: ServedStream,
    last_seq: int,
    scorer: object,
    thresholds: Mapping[str, float],
    *,
    tolerance: float = 0.0,
) -> Expected:
    """Run the rules over seqs 1..last_seq of `stream`."""
    from firehose.decode.relay import decode_frame
    from firehose.events import (
        AccountChanged,
        EngagementCreated,
        EngagementDeleted,
        PostDeleted,
        PostUpserted,
        SkippedFrame,
        at_uri,
    )

    per_frame = [decode_frame(frame) for frame in stream.frames]
    scored = _score_capture(per_frame, scorer, thresholds, tolerance)
    exp = Expected(last_seq=last_seq)
    posts, engagements = exp.posts, exp.engagements
    by_subject: dict[str, set[str]] = {}
    by_author: dict[str, set[str]] = {}

    def remove(uri: str) -> None:
        author = posts.pop(uri)[1]
        by_author[author].discard(uri)
        for eng in by_subject.pop(uri, ()):
            engagements.pop(eng, None)
        exp.deletes_applied += 1

    for seq in range(1, last_seq + 1):
        index, loop = stream.position(seq)
        for j, event in enumerate(per_frame[index]):
            exp.events += 1
            kind = type(event)
            if kind is SkippedFrame:
                exp.skipped += 1
                continue
            did = loop_did(event.did, loop) if hasattr(event, "did") else None
            if kind is PostUpserted:
                uri = at_uri(did, "app.bsky.feed.post", event.rkey)
                kept, scores, near = scored[(index, j)]
                if near:
                    exp.borderline.add(uri)
                if kept:
                    if uri not in posts:
                        by_author.setdefault(did, set()).add(uri)
                    posts[uri] = (event.cid, did, scores)
                elif uri in posts:
                    remove(uri)
            elif kind is PostDeleted:
                uri = at_uri(did, "app.bsky.feed.post", event.rkey)
                if uri in posts:
                    remove(uri)
            elif kind is EngagementCreated:
                uri = at_uri(did, "app.bsky.feed." + event.kind, event.rkey)
                if event.subject_uri in posts and uri not in engagements:
                    engagements[uri] = (event.kind, event.subject_uri)
                    by_subject.setdefault(event.subject_uri, set()).add(uri)
            elif kind is EngagementDeleted:
                uri = at_uri(did, "app.bsky.feed." + event.kind, event.rkey)
                if uri in engagements:
                    by_subject[engagements.pop(uri)[1]].discard(uri)
            elif kind is AccountChanged and not event.active and event.status in REMOVING_STATUSES:
                for uri in list(by_author.get(did, ())):
                    remove(uri)
    return exp


@dataclass
class AuditResult:
    ok: bool
    expected_posts: int
    stored_posts: int
    missing: list[str]
    extra: list[str]
    duplicates: int
    wrong_cid: list[str]
    wrong_counts: list[str]
    wrong_scores: list[str]
    engagements_missing: int
    engagements_extra: int
    borderline: int
    deletes_applied: int
    cursor: int | None
    events_seen: int
    expected_events: int
    frames_skipped: int
    expected_skipped: int
    problems: list[str]
    seeded: int = 0
    seeded_missing: list[str] = field(default_factory=list)
    seeded_changed: list[str] = field(default_factory=list)

    def summary(self) -> str:
        head = "PASS" if self.ok else "FAIL"
        text = (
            f"audit {head}: {self.stored_posts} posts stored"
            + (f" (+ {self.seeded:,} seeded)" if self.seeded else "")
            + f", {self.expected_posts} expected "
            f"(missing {len(self.missing)}, extra {len(self.extra)}, doubled {self.duplicates}, "
            f"wrong cid {len(self.wrong_cid)}, wrong like/repost counts {len(self.wrong_counts)}, "
            f"wrong scores {len(self.wrong_scores)}); engagements missing {self.engagements_missing}, "
            f"extra {self.engagements_extra}; {self.deletes_applied} removals applied; "
            f"{self.borderline} borderline; cursor {self.cursor}; events_seen {self.events_seen} "
            f"(stream {self.expected_events} + malformed {self.events_seen - self.expected_events})"
        )
        if self.seeded:
            broken = len(self.seeded_missing) + len(self.seeded_changed)
            text += (
                f"; {self.seeded:,} seeded posts intact"
                if not broken
                else f"; seeded posts: {len(self.seeded_missing)} missing, {len(self.seeded_changed)} "
                f"changed of {self.seeded:,}"
            )
        return text + "".join(f"\n  - {p}" for p in self.problems)


def audit_db(
    db: Path | str,
    exp: Expected,
    *,
    score_tolerance: float = 1e-6,
    seeded: Mapping[str, Sequence] | None = None,
) -> AuditResult:
    """Compare the store with `exp`; every difference except borderline posts fails. `db` is a SQLite
    file (read-only) or a `postgresql://` URL (through the store interface, `open_db`). `seeded`: the
    posts written before the run, uri -> (cid, like_count, repost_count, score_github, score_ml)
    (`scripts.soaklib.seed.Seed.posts`): left out of the comparison, and each must be stored as written."""
    from firehose.store.backend import is_postgres
    from firehose.store.schema import open_db

    if is_postgres(str(db)):
        conn = open_db(str(db), migrate=False)
    else:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT uri, cid, like_count, repost_count, score_github, score_ml FROM posts"
        ).fetchall()
        duplicates = conn.execute(
            "SELECT count(*) FROM"
            " (SELECT author, rkey FROM posts GROUP BY author, rkey HAVING count(*) > 1) AS doubled"
        ).fetchone()[0]
        stored_eng = {
            uri: (kind, subject)
            for uri, kind, subject in conn.execute("SELECT uri, kind, subject_uri FROM engagements")
        }
        cursor = conn.execute("SELECT max(cursor) FROM sub_state").fetchone()[0]
        counters = dict(conn.execute("SELECT name, value FROM counters").fetchall())
    finally:
        conn.close()
    seeded = seeded or {}
    seeded_missing = sorted(set(seeded) - {row[0] for row in rows})
    seeded_changed = sorted(
        row[0] for row in rows if row[0] in seeded and tuple(row[1:]) != tuple(seeded[row[0]])
    )
    stored = {row[0]: row for row in rows if row[0] not in seeded}
    counts = exp.counts()
    missing = sorted(set(exp.posts) - set(stored) - exp.borderline)
    extra = sorted(set(stored) - set(exp.posts) - exp.borderline)
    wrong_cid, wrong_counts, wrong_scores = [], [], []
    for uri, (cid, _author, scores) in exp.posts.items():
        row = stored.get(uri)
        if row is None:
            continue
        if row[1] != cid:
            wrong_cid.append(uri)
        if (row[2], row[3]) != counts[uri]:
            wrong_counts.append(
                f"{uri}: stored {row[2]}/{row[3]}, expected {counts[uri][0]}/{counts[uri][1]}"
            )
        if any(
            abs(row[4 + i] - scores.get(t, 0.0)) > score_tolerance for i, t in enumerate(("github", "ml"))
        ):
            wrong_scores.append(uri)
    eng_missing = len(set(exp.engagements) - set(stored_eng))
    eng_extra = len(set(stored_eng) - set(exp.engagements))
    events_seen = counters.get("events_seen", 0)
    skipped = counters.get("frames_skipped", 0)
    problems = []
    if set(seeded) & set(exp.posts):
        problems.append(f"the stream posted under seeded uris: {sorted(set(seeded) & set(exp.posts))[:3]}")
    if cursor != exp.last_seq:
        problems.append(f"stored cursor {cursor} != last served seq {exp.last_seq}")
    malformed = events_seen - exp.events
    if malformed < 0 or skipped - exp.skipped != malformed:
        problems.append(
            f"counters: events_seen {events_seen} and frames_skipped {skipped} do not fit the stream's "
            f"{exp.events} events / {exp.skipped} skipped plus malformed frames (events lost or doubled)"
        )
    for name, items in (
        ("missing", missing),
        ("extra", extra),
        ("wrong cid", wrong_cid),
        ("wrong counts", wrong_counts),
        ("wrong scores", wrong_scores),
        ("seeded posts missing", seeded_missing),
        ("seeded posts changed", seeded_changed),
    ):
        if items:
            problems.append(f"{name}: {len(items)}, e.g. {items[:3]}")
    if duplicates:
        problems.append(f"{duplicates} (author, rkey) pairs stored twice")
    if eng_missing or eng_extra:
        problems.append(f"engagements: {eng_missing} missing, {eng_extra} extra")
    return AuditResult(
        ok=not problems,
        expected_posts=len(exp.posts),
        stored_posts=len(stored),
        missing=missing,
        extra=extra,
        duplicates=duplicates,
        wrong_cid=wrong_cid,
        wrong_counts=wrong_counts,
        wrong_scores=wrong_scores,
        engagements_missing=eng_missing,
        engagements_extra=eng_extra,
        borderline=len(exp.borderline),
        deletes_applied=exp.deletes_applied,
        cursor=cursor,
        events_seen=events_seen,
        expected_events=exp.events,
        frames_skipped=skipped,
        expected_skipped=exp.skipped,
        problems=problems,
        seeded=len(seeded),
        seeded_missing=seeded_missing,
        seeded_changed=seeded_changed,
    )


def build_audit_scorer(name: str, settings: object) -> object:
    """The scorer the ingest used: `link` (firehose.scoring.LinkScorer) or `model` (the classifier)."""
    if name == "link":
        from firehose.scoring import LinkScorer

        return LinkScorer()
    from firehose.classify import build_scorer

    return build_scorer(settings)
