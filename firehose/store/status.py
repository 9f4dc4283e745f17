"""Ingest status, read from the store: each source's cursor and lag, the counters, posts per topic.

The one reader behind `/xrpc/_health` (and its stale rule, `stale_reason`), the Prometheus gauges,
`gitfeed stats` and the operator page: each asks these functions and formats the answer its own way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from firehose.store.backend import Connection
from firehose.topics import TOPICS

# What ingest's caps cut or skipped (README: "Caps on hostile input"), counted by the store's writer.
CAP_COUNTERS = ("fields_truncated", "facets_dropped", "ops_skipped", "cids_unverified")
JETSTREAM_CURSOR_MIN = 10**15  # Jetstream cursors are unix microseconds; relay cursors are sequence numbers


@dataclass(frozen=True)
class SourceStatus:
    """One ingest source as of `now`: where it stands and how long since it last committed."""

    service: str
    cursor: int
    updated_ts: float
    lag_seconds: float  # seconds since ingest last committed a batch from this source
    event_lag: float | None  # seconds behind the network, where the cursor is a time (Jetstream)

    def summary(self) -> dict[str, object]:
        """What health and `gitfeed stats` show of a source."""
        return {"service": self.service, "cursor": self.cursor, "lag_seconds": round(self.lag_seconds, 3)}


def sources(conn: Connection, now: float) -> list[SourceStatus]:
    """Every source's saved cursor, by service name (a source claimed but not yet committed has none)."""
    out = []
    for service, cursor, updated_ts in conn.execute(
        "SELECT service, cursor, updated_ts FROM sub_state WHERE cursor IS NOT NULL ORDER BY service"
    ):
        event_lag = max(0.0, now - cursor / 1e6) if cursor >= JETSTREAM_CURSOR_MIN else None
        out.append(SourceStatus(service, int(cursor), updated_ts, max(0.0, now - updated_ts), event_lag))
    return out


def stale_reason(lags: Iterable[float], max_lag_seconds: float) -> str | None:
    """Why ingest counts as stale, or None: no source has committed within `max_lag_seconds`.

    The freshest source decides (a source switched off long ago leaves its old row behind); no
    source at all is not stale (a server started before ingest has written anything); 0 turns it off.
    """
    lags = list(lags)
    if not lags or max_lag_seconds <= 0:
        return None
    freshest = min(lags)
    if freshest <= max_lag_seconds:
        return None
    return f"ingest last committed {freshest:.0f} s ago (limit {max_lag_seconds:g} s)"


def counters(conn: Connection) -> dict[str, int]:
    """Ingest's counters (events_seen, frames_skipped, posts_seen, posts_kept, kept_<topic>, CAP_COUNTERS)."""
    return {name: int(value) for name, value in conn.execute("SELECT name, value FROM counters")}


def cap_counts(conn: Connection) -> dict[str, int]:
    """The counters of what the caps cut or skipped, each of `CAP_COUNTERS` (0 until it first moves)."""
    marks = ",".join("?" * len(CAP_COUNTERS))
    rows = dict(conn.execute(f"SELECT name, value FROM counters WHERE name IN ({marks})", CAP_COUNTERS))
    return {name: int(rows.get(name, 0)) for name in CAP_COUNTERS}


def posts_stored(conn: Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


def posts_by_topic(conn: Connection, thresholds: Mapping[str, float]) -> dict[str, int]:
    """Stored posts whose score reaches each topic's threshold (a topic without one counts none)."""
    return {
        topic: int(
            conn.execute(
                f"SELECT count(*) FROM posts WHERE score_{topic} >= ?",  # topic from TOPICS only
                (thresholds.get(topic, 1.0),),
            ).fetchone()[0]
        )
        for topic in TOPICS
    }
