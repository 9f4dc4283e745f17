"""Trending repositories and posts kept per hour, kept up to date incrementally.

Counting `posts.repos` over 7 days with SQL on every page view would read every stored post. Instead
one full load reads the posts once, and each refresh reads only rows with an id above the high-water
mark (ids are insertion order), adding their mentions to running per-window counts; a heap per
window retires mentions as they age out. Deletes (post deletes, takedowns, pruning) are caught by a
periodic full reload, and bans by a recount from memory when the moderation version moves.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from feedserver.moderation import Moderation
from firehose.store.backend import Connection, hour_bucket, read_transaction

WINDOWS: dict[str, float] = {"24h": 86400.0, "7d": 7 * 86400.0}
HOUR = 3600.0
HISTORY_HOURS = 7 * 24
EXAMPLES_PER_REPO = 3


class Mention(NamedTuple):
    """One post linking one repository (a tuple: a full load makes hundreds of thousands)."""

    post_id: int
    uri: str
    author: str
    created_ts: float


@dataclass(frozen=True)
class TrendingRepo:
    """A repository with how many posts linked it in the window and the newest of those posts."""

    repo: str
    count: int
    examples: tuple[Mention, ...]

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[-1]


@dataclass
class _Window:
    seconds: float
    counts: Counter[str] = field(default_factory=Counter)
    heap: list[tuple[float, int, str]] = field(default_factory=list)  # (created_ts, post_id, repo)


def _parse_repos(raw: str | None) -> list[str]:
    if not raw or raw == "[]":
        return []
    try:
        repos = json.loads(raw)
    except ValueError:
        return []
    return [r for r in repos if isinstance(r, str) and "/" in r] if isinstance(repos, list) else []


class RepoTrends:
    """Per-window mention counts of `owner/repo`, excluding banned posts and authors."""

    def __init__(self) -> None:
        self.mentions: dict[str, list[Mention]] = {}
        self.windows = {name: _Window(seconds) for name, seconds in WINDOWS.items()}
        self.moderation = Moderation()

    def add(self, mention: Mention, repos: list[str], now: float) -> None:
        """Record one post's repositories (each counted once per post)."""
        allowed = self.moderation.allows(mention.uri, mention.author)
        for repo in dict.fromkeys(repos):
            self.mentions.setdefault(repo, []).append(mention)
            if not allowed:
                continue
            for window in self.windows.values():
                if mention.created_ts >= now - window.seconds:
                    window.counts[repo] += 1
                    heapq.heappush(window.heap, (mention.created_ts, mention.post_id, repo))

    def load(self, rows: Iterable[tuple[int, str, str, float, str]], now: float) -> None:
        """Add many (id, uri, author, created_ts, repos JSON) rows at once: one heapify per window."""
        mentions = self.mentions
        windows = [(now - w.seconds, w.counts, w.heap) for w in self.windows.values()]
        allows = self.moderation.allows
        for post_id, uri, author, created_ts, raw in rows:
            repos = _parse_repos(raw)
            if not repos:
                continue
            mention = Mention(post_id, uri, author, created_ts)
            allowed = allows(uri, author)
            for repo in dict.fromkeys(repos):
                mentions.setdefault(repo, []).append(mention)
                if allowed:
                    for cutoff, counts, heap in windows:
                        if created_ts >= cutoff:
                            counts[repo] += 1
                            heap.append((created_ts, post_id, repo))
        for window in self.windows.values():
            heapq.heapify(window.heap)

    def expire(self, now: float) -> None:
        """Retire mentions that have aged out of each window."""
        for window in self.windows.values():
            cutoff = now - window.seconds
            heap, counts = window.heap, window.counts
            while heap and heap[0][0] < cutoff:
                _, _, repo = heapq.heappop(heap)
                counts[repo] -= 1
                if counts[repo] <= 0:
                    del counts[repo]

    def recount(self, moderation: Moderation, now: float) -> None:
        """Rebuild the window counts from memory under new bans (bans are rare; this is O(mentions))."""
        self.moderation = moderation
        for window in self.windows.values():
            cutoff = now - window.seconds
            window.counts = Counter()
            window.heap = []
            for repo, mentions in self.mentions.items():
                for m in mentions:
                    if m.created_ts >= cutoff and moderation.allows(m.uri, m.author):
                        window.counts[repo] += 1
                        window.heap.append((m.created_ts, m.post_id, repo))
            heapq.heapify(window.heap)

    def top(self, window: str, limit: int, now: float) -> list[TrendingRepo]:
        """The `limit` most linked repositories of the window, ties broken by name."""
        spec = self.windows[window]
        cutoff = now - spec.seconds
        best = heapq.nsmallest(limit, spec.counts.items(), key=lambda item: (-item[1], item[0]))
        result = []
        for repo, count in best:
            # Newest stored first: a reversed walk stops after a few, even for a repo linked 100,000 times.
            examples: list[Mention] = []
            for m in reversed(self.mentions.get(repo, ())):
                if m.created_ts >= cutoff and self.moderation.allows(m.uri, m.author):
                    examples.append(m)
                    if len(examples) == EXAMPLES_PER_REPO:
                        break
            result.append(TrendingRepo(repo, count, tuple(examples)))
        return result


class KeptHistogram:
    """Posts stored per hour (by indexed_ts), per topic, for the operator's chart."""

    def __init__(self, thresholds: dict[str, float]) -> None:
        self.thresholds = thresholds
        self.hours: dict[int, Counter[str]] = {}

    def add(self, indexed_ts: float, scores: dict[str, float]) -> None:
        bucket = self.hours.setdefault(int(indexed_ts // HOUR), Counter())
        bucket["all"] += 1
        for topic, threshold in self.thresholds.items():
            if scores.get(topic, 0.0) >= threshold:
                bucket[topic] += 1

    def forget_before(self, now: float) -> None:
        first = int(now // HOUR) - HISTORY_HOURS + 1
        for old in [h for h in self.hours if h < first]:
            del self.hours[old]

    def series(self, now: float, hours: int = HISTORY_HOURS) -> tuple[int, dict[str, list[int]]]:
        """(first hour index, {topic: counts per hour}) for the last `hours` hours, oldest first."""
        last = int(now // HOUR)
        first = last - hours + 1
        names = [*self.thresholds, "all"]
        return first, {
            name: [self.hours.get(h, Counter()).get(name, 0) for h in range(first, last + 1)]
            for name in names
        }


class Aggregates:
    """Trending repositories and the kept-per-hour histogram, fed from the same scan of new posts."""

    def __init__(self, thresholds: dict[str, float]) -> None:
        self.thresholds = thresholds
        self.trends = RepoTrends()
        self.histogram = KeptHistogram(thresholds)
        self.high_water = 0

    def load(self, conn: Connection, moderation: Moderation, now: float) -> None:
        """Full load: the mentions of the last 7 days and 7 days of hourly counts, in one read transaction."""
        trends = RepoTrends()
        trends.moderation = moderation
        histogram = KeptHistogram(self.thresholds)
        since = now - max(WINDOWS.values())
        with read_transaction(conn):
            high_water = int(conn.execute("SELECT coalesce(max(id), 0) FROM posts").fetchone()[0])
            rows = conn.execute(
                "SELECT id, uri, author, created_ts, repos FROM posts "
                "WHERE repos != '[]' AND created_ts >= ? AND id <= ?",
                (since, high_water),
            )
            trends.load(rows, now)
            topics = list(self.thresholds)
            sums = ", ".join(f"sum(CASE WHEN score_{t} >= :{t} THEN 1 ELSE 0 END)" for t in topics)
            params = {**self.thresholds, "since": now - HISTORY_HOURS * HOUR, "high_water": high_water}
            for hour, total, *per_topic in conn.execute(
                f"SELECT {hour_bucket(conn, 'indexed_ts')}, count(*), {sums} FROM posts "
                "WHERE indexed_ts >= :since AND id <= :high_water GROUP BY 1",
                params,
            ):
                histogram.hours[int(hour)] = Counter(
                    {"all": total, **dict(zip(topics, per_topic, strict=True))}
                )
        trends.expire(now)
        self.trends, self.histogram, self.high_water = trends, histogram, high_water

    def update(self, conn: Connection, now: float) -> int:
        """Add posts stored since the last load/update; returns how many were read."""
        topics = list(self.thresholds)
        columns = ", ".join(f"score_{t}" for t in topics)
        rows = conn.execute(
            f"SELECT id, uri, author, created_ts, indexed_ts, repos, {columns} FROM posts "
            "WHERE id > ? ORDER BY id",
            (self.high_water,),
        ).fetchall()
        for post_id, uri, author, created_ts, indexed_ts, repos, *scores in rows:
            self.trends.add(Mention(post_id, uri, author, created_ts), _parse_repos(repos), now)
            self.histogram.add(indexed_ts, dict(zip(topics, scores, strict=True)))
            self.high_water = max(self.high_water, post_id)
        self.trends.expire(now)
        self.histogram.forget_before(now)
        return len(rows)
