"""The operator's labels and the label queue: which posts wait for a label, and the labels given.

What enters the queue (each reason bounded to FEEDGEN_LABEL_QUEUE_MAX rows, the oldest dropped, so no
stream of posts and no stranger's "show less" grows it without limit):
- `uncertain`: ingest scored a post within FEEDGEN_LABEL_MARGIN of a topic's threshold, on either
  side (the near-misses under it are not stored as posts; the queue keeps their record);
- `recent_admission`: a FEEDGEN_LABEL_ADMISSION_SHARE sample of the posts ingest admitted (chosen by
  a hash of the uri, so a replayed batch picks the same posts);
- `show_less`: a subscriber's requestLess on a stored post (sendInteractions).

A post already labeled never enters again; labeling takes it out. Each row keeps the post's record as
the classifier reads it (`firehose.detect.classifier_record`), so `gitfeed train` / `gitfeed eval` score
the labeled post exactly as ingest did, after the post itself is pruned. A deleted post (or a removed
account) leaves the queue and the labels. The SQL on `labels` and `label_queue` lives here only.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from firehose.detect import EXTERNAL, classifier_record
from firehose.events import PostUpserted
from firehose.store.backend import Connection, insertion_order, no_limit, write_transaction
from firehose.topics import TOPICS

REASONS = ("show_less", "uncertain", "recent_admission")  # also the order the queue is shown in
OPERATOR = "operator"
# The operator's answers (`gitfeed label`, the buttons of /admin): key -> topics.
ANSWERS: dict[str, tuple[str, ...]] = {"g": ("github",), "m": ("ml",), "b": ("github", "ml"), "n": ()}
NEITHER = ("neither", "none", "-")
SQL_CHUNK = 500


class LabelError(Exception):
    """A label that cannot be recorded: unknown topic, or a post we know nothing of."""


@dataclass(frozen=True)
class LabelPolicy:
    """What ingest puts in the queue (from settings; `cap` 0 turns the queue off)."""

    cap: int = 1000
    margin: float = 0.15
    admission_share: float = 0.02

    @classmethod
    def from_settings(cls, settings: Any) -> LabelPolicy:
        return cls(settings.label_queue_max, settings.label_margin, settings.label_admission_share)


@dataclass(frozen=True)
class QueuedPost:
    """A post entering the queue, and why."""

    uri: str
    record: dict[str, Any]
    reason: str
    scores: Mapping[str, float]


@dataclass(frozen=True)
class QueueItem:
    """A post waiting in the queue, as `gitfeed label` and /admin show it."""

    uri: str
    record: dict[str, Any]
    reason: str
    scores: dict[str, float]
    requests: int
    queued_at: float

    @property
    def text(self) -> str:
        return self.record.get("text") or ""

    @property
    def card(self) -> dict[str, str]:
        embed = self.record.get("embed") or {}
        return embed.get("external") or {} if embed.get("$type") == EXTERNAL else {}

    @property
    def alts(self) -> list[str]:
        embed = self.record.get("embed") or {}
        return [image.get("alt", "") for image in embed.get("images") or []]

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "reason": self.reason,
            "scores": self.scores,
            "requests": self.requests,
            "queued_at": self.queued_at,
            "text": self.text,
            "card": self.card,
            "alts": self.alts,
        }


@dataclass(frozen=True)
class Label:
    """One post the operator labeled."""

    uri: str
    labels: frozenset[str]
    record: dict[str, Any]
    labeled_at: float
    labeler: str = OPERATOR

    def to_json(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "labels": sorted(self.labels),
            "labeled_at": self.labeled_at,
            "labeler": self.labeler,
            "text": self.record.get("text") or "",
        }


# --- what enters the queue (pure) ---------------------------------------------------------------


def sampled(uri: str, share: float) -> bool:
    """A stable `share` of uris (crc32 of the uri), so a replayed batch samples the same posts."""
    return share > 0 and zlib.crc32(uri.encode("utf-8")) % 10_000 < share * 10_000


def picks(
    posts: Sequence[PostUpserted],
    scores: Sequence[Mapping[str, float]],
    thresholds: Mapping[str, float],
    policy: LabelPolicy,
) -> list[QueuedPost]:
    """The posts of a scored batch that enter the queue: near a threshold, or a sampled admission."""
    if policy.cap <= 0:
        return []
    out = []
    for post, post_scores in zip(posts, scores, strict=True):
        reason = None
        admitted = False
        for topic, score in post_scores.items():
            threshold = thresholds.get(topic, 1.0)
            admitted = admitted or score >= threshold
            # 0 is the first stage's "no chance" and 1.0 a rule's verdict: neither is a doubt
            if 0.0 < score < 1.0 and abs(score - threshold) <= policy.margin:
                reason = "uncertain"
        if reason is None and admitted and sampled(post.uri, policy.admission_share):
            reason = "recent_admission"
        if reason is not None:
            out.append(QueuedPost(post.uri, classifier_record(post.record), reason, dict(post_scores)))
    return out


# --- the queue -------------------------------------------------------------------------------------


def _chunks(items: Sequence[str], size: int = SQL_CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def enqueue(conn: Connection, posts: Sequence[QueuedPost], cap: int, now: float) -> int:
    """Put posts in the queue (inside the caller's transaction), skipping labeled ones; a post already
    queued gets the new record and scores, and `show_less` counts each request. Then each reason is cut
    back to `cap` rows, the oldest first. Returns the rows dropped by the cut."""
    if not posts or cap <= 0:
        return 0
    conn.executemany(
        "INSERT INTO label_queue (uri, record, reason, score_github, score_ml, requests, queued_at)"
        " SELECT :uri, :record, :reason, :github, :ml, 1, :now"
        " WHERE NOT EXISTS (SELECT 1 FROM labels WHERE uri = :uri)"
        " ON CONFLICT(uri) DO UPDATE SET record = excluded.record, score_github = excluded.score_github,"
        " score_ml = excluded.score_ml,"
        " reason = CASE WHEN excluded.reason = 'show_less' THEN 'show_less' ELSE label_queue.reason END,"
        " requests = label_queue.requests + CASE WHEN excluded.reason = 'show_less' THEN 1 ELSE 0 END",
        [
            {
                "uri": post.uri,
                "record": json.dumps(post.record, ensure_ascii=False),
                "reason": post.reason,
                "github": float(post.scores.get("github", 0.0)),
                "ml": float(post.scores.get("ml", 0.0)),
                "now": now,
            }
            for post in posts
        ],
    )
    return sum(trim(conn, reason, cap) for reason in {post.reason for post in posts})


def trim(conn: Connection, reason: str, cap: int) -> int:
    """Keep the newest `cap` rows of one reason; returns how many were dropped (ties in queued_at: the
    last inserted kept; by uri on PostgreSQL, which has no rowid)."""
    order = insertion_order(conn, "uri")
    return conn.execute(
        f"DELETE FROM label_queue WHERE {order} IN (SELECT {order} FROM label_queue WHERE reason = ?"
        f" ORDER BY queued_at DESC, {order} DESC LIMIT {no_limit(conn)} OFFSET ?)",
        (reason, cap),
    ).rowcount


def record_from_post(row: Mapping[str, Any]) -> dict[str, Any]:
    """A post record rebuilt from a `posts` row (text, langs, card, GitHub links, reply), for a post that
    was stored but never queued. Alt texts are not in `posts`, so they are missing here."""
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": row.get("text") or "",
        "createdAt": row.get("created_at") or "",
        "langs": json.loads(row.get("langs") or "[]"),
    }
    urls = json.loads(row.get("github_urls") or "[]")
    if row.get("card_title") or row.get("card_description"):
        card = {
            "uri": urls[0] if urls else "",
            "title": row.get("card_title") or "",
            "description": row.get("card_description") or "",
        }
        record["embed"] = {"$type": EXTERNAL, "external": card}
    if urls:
        feature = "app.bsky.richtext.facet#link"
        record["facets"] = [{"index": {}, "features": [{"$type": feature, "uri": url}]} for url in urls]
    if row.get("reply_parent"):
        record["reply"] = {"root": {"uri": row.get("reply_root")}, "parent": {"uri": row["reply_parent"]}}
    return record


def stored_posts(conn: Connection, uris: Sequence[str]) -> dict[str, dict[str, Any]]:
    """`posts` rows by uri, for the uris that are stored."""
    out: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(set(uris))):
        cursor = conn.execute(f"SELECT * FROM posts WHERE uri IN ({','.join('?' * len(chunk))})", list(chunk))
        names = [c[0] for c in cursor.description]
        for row in cursor:
            post = dict(zip(names, row, strict=True))
            out[post["uri"]] = post
    return out


def show_less(conn: Connection, uris: Sequence[str], cap: int, now: float) -> int:
    """Queue the stored posts among `uris` that a subscriber asked to see less of (inside the caller's
    transaction); a uri we do not store is ignored, so a stranger can only point at our own posts.

    A post already queued is counted (its reason becomes show_less, its scores the stored ones) in one
    UPDATE, its record left as it is: only posts entering the queue are read and encoded, so asking
    about the same posts again costs a few index lookups each."""
    if cap <= 0 or not uris:
        return 0
    wanted = sorted(set(uris))
    queued = _counted_again(conn, wanted)
    posts = stored_posts(conn, [uri for uri in wanted if uri not in queued])
    entering = [
        QueuedPost(
            uri, record_from_post(row), "show_less", {"github": row["score_github"], "ml": row["score_ml"]}
        )
        for uri, row in posts.items()
    ]
    if entering:
        enqueue(conn, entering, cap, now)
    elif queued:
        trim(conn, "show_less", cap)
    return len(queued) + len(entering)


def _counted_again(conn: Connection, uris: Sequence[str]) -> set[str]:
    """Count one more show_less request on each of `uris` already queued (and stored, not labeled);
    returns those uris. The scores are the stored post's, as `enqueue` would set them."""
    found: set[str] = set()
    for chunk in _chunks(uris):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT q.uri FROM label_queue q JOIN posts p ON p.uri = q.uri WHERE q.uri IN ({marks})"
            " AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.uri = q.uri)",
            list(chunk),
        ).fetchall()
        again = [row[0] for row in rows]
        if again:
            conn.execute(
                "UPDATE label_queue SET reason = 'show_less', requests = requests + 1,"
                " score_github = (SELECT p.score_github FROM posts p WHERE p.uri = label_queue.uri),"
                " score_ml = (SELECT p.score_ml FROM posts p WHERE p.uri = label_queue.uri)"
                f" WHERE uri IN ({','.join('?' * len(again))})",
                again,
            )
            found.update(again)
    return found


def _queued_record(conn: Connection, uri: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT record FROM label_queue WHERE uri = ?", (uri,)).fetchone()
    return json.loads(row[0]) if row else None


def queue(
    conn: Connection, *, limit: int = 50, offset: int = 0, reason: str | None = None
) -> list[QueueItem]:
    """Queued posts: show_less first, then uncertain, then recent admissions; newest first in each."""
    order = " ".join(f"WHEN '{name}' THEN {rank}" for rank, name in enumerate(REASONS))
    where, params = ("WHERE reason = ?", [reason]) if reason else ("", [])
    rows = conn.execute(
        "SELECT uri, record, reason, score_github, score_ml, requests, queued_at FROM label_queue "
        f"{where} ORDER BY CASE reason {order} END, queued_at DESC, {insertion_order(conn, 'uri')} DESC"
        " LIMIT ? OFFSET ?",
        [*params, limit, offset],
    ).fetchall()
    return [
        QueueItem(uri, json.loads(record), why, {"github": github, "ml": ml}, requests, queued_at)
        for uri, record, why, github, ml, requests, queued_at in rows
    ]


def queue_counts(conn: Connection) -> dict[str, int]:
    """Rows waiting per reason (every reason present, 0 when none)."""
    counts = dict(conn.execute("SELECT reason, count(*) FROM label_queue GROUP BY reason").fetchall())
    return {reason: counts.get(reason, 0) for reason in REASONS}


def forget(conn: Connection, uris: Sequence[str]) -> None:
    """Deleted posts leave the queue and the labels (inside the caller's transaction)."""
    for chunk in _chunks(list(uris)):
        marks = ",".join("?" * len(chunk))
        conn.execute(f"DELETE FROM label_queue WHERE uri IN ({marks})", list(chunk))
        conn.execute(f"DELETE FROM labels WHERE uri IN ({marks})", list(chunk))


def forget_author(conn: Connection, did: str) -> None:
    """A removed account's posts leave the queue and the labels (uris `at://DID/...`, by range)."""
    low, high = f"at://{did}/", f"at://{did}0"  # '0' sorts right after '/'
    for table in ("label_queue", "labels"):
        conn.execute(f"DELETE FROM {table} WHERE uri >= ? AND uri < ?", (low, high))


# --- labels ----------------------------------------------------------------------------------------


def parse_labels(value: str | Iterable[str]) -> frozenset[str]:
    """'ml,github', 'both', 'neither' (or 'none', '-', ''), or an answer key (g, m, b, n) -> topics."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ANSWERS:
            return frozenset(ANSWERS[text])
        if text == "both":
            return frozenset(TOPICS)
        if text in NEITHER or not text:
            return frozenset()
        value = [part.strip() for part in text.split(",") if part.strip()]
    names = frozenset(value)
    unknown = names - set(TOPICS)
    if unknown:
        raise LabelError(
            f"unknown label(s) {', '.join(sorted(unknown))}: give {', '.join(TOPICS)}, both or neither"
        )
    return names


def add_label(
    conn: Connection,
    uri: str,
    labels: Iterable[str],
    now: float,
    *,
    labeler: str = OPERATOR,
    record: dict[str, Any] | None = None,
) -> Label:
    """Record the operator's label of `uri` (replacing an earlier one) and take it out of the queue, in
    one transaction. The record comes from the queue, else from the stored post, else `record`."""
    names = parse_labels(labels)
    with write_transaction(conn):
        found = _queued_record(conn, uri)
        if found is None:
            post = stored_posts(conn, [uri]).get(uri)
            found = record_from_post(post) if post is not None else None
        if found is None:
            previous = conn.execute("SELECT record FROM labels WHERE uri = ?", (uri,)).fetchone()
            found = json.loads(previous[0]) if previous else None
        if found is None and record is not None:
            found = classifier_record(record)
        if found is None:
            raise LabelError(f"{uri} is neither queued nor stored: nothing to label it by")
        conn.execute(
            "INSERT INTO labels (uri, record, labels, labeled_at, labeler) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(uri) DO UPDATE SET labels = excluded.labels, labeled_at = excluded.labeled_at,"
            " labeler = excluded.labeler",
            (uri, json.dumps(found, ensure_ascii=False), json.dumps(sorted(names)), now, labeler),
        )
        conn.execute("DELETE FROM label_queue WHERE uri = ?", (uri,))
    return Label(uri, names, found, now, labeler)


def dismiss(conn: Connection, uri: str) -> bool:
    """Take a post out of the queue without a label; True when it was queued."""
    return conn.execute("DELETE FROM label_queue WHERE uri = ?", (uri,)).rowcount > 0


def all_labels(conn: Connection) -> list[Label]:
    """Every label the operator gave, oldest first."""
    rows = conn.execute(
        "SELECT uri, labels, record, labeled_at, labeler FROM labels ORDER BY labeled_at, uri"
    )
    return [
        Label(uri, frozenset(json.loads(names)), json.loads(record), labeled_at, labeler)
        for uri, names, record, labeled_at, labeler in rows
    ]
