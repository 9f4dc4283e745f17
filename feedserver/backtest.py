"""What each feed would have admitted, hour by hour, from a store that ingest filled (`gitfeed backtest`
replays a capture into a temporary one): the classifier judged on yesterday's traffic before it goes live.

Counts are per hour of the posts' createdAt (UTC; ingest clamps a claimed future to the time it saw the
post), by each feed's own query (`feedserver.feeds.FEEDS`), before moderation and the reply rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from feedserver.feeds import FEEDS, feed_params
from firehose.store.backend import Connection, hour_label


@dataclass(frozen=True)
class Sample:
    uri: str
    created_at: str
    scores: dict[str, float]
    text: str


@dataclass
class BacktestReport:
    """feed -> hour -> posts admitted, and a few posts per feed."""

    counts: dict[str, dict[str, int]]
    samples: dict[str, list[Sample]] = field(default_factory=dict)

    @property
    def hours(self) -> list[str]:
        return sorted({hour for by_hour in self.counts.values() for hour in by_hour})

    def totals(self) -> dict[str, int]:
        return {name: sum(by_hour.values()) for name, by_hour in self.counts.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "hours": self.hours,
            "counts": self.counts,
            "totals": self.totals(),
            "samples": {name: [vars(s) for s in samples] for name, samples in self.samples.items()},
        }


def admitted_per_hour(
    conn: Connection, thresholds: dict[str, float], *, samples: int = 3, text_chars: int = 120
) -> BacktestReport:
    """Posts each feed's query selects, per hour of createdAt, and `samples` posts per feed (spread over
    the feed by a fixed hash of the row id, so the same store gives the same samples)."""
    params = feed_params(thresholds)
    report = BacktestReport(counts={})
    for name, feed in FEEDS.items():
        rows = conn.execute(
            f"SELECT {hour_label(conn, 'created_ts')} AS hour, count(*) FROM posts WHERE {feed.where}"
            " GROUP BY hour ORDER BY hour",
            params,
        ).fetchall()
        report.counts[name] = {hour: n for hour, n in rows}
        picked = conn.execute(
            "SELECT uri, created_at, score_github, score_ml, text FROM posts "
            f"WHERE {feed.where} ORDER BY (id * 2654435761) % 4294967296 LIMIT :samples",
            {**params, "samples": samples},
        ).fetchall()
        report.samples[name] = [
            Sample(uri, created_at, {"github": github, "ml": ml}, _short(text, text_chars))
            for uri, created_at, github, ml, text in picked
        ]
    return report


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
