"""Prometheus metrics, one registry per app (so tests can build many apps side by side)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _StoreCollector:
    """Reads ingest lag and posts per topic at scrape time, from a callable the app provides."""

    def __init__(self, read: Callable[[], tuple[dict[str, float], dict[str, int]]]) -> None:
        self._read = read

    def collect(self):  # noqa: ANN201 - prometheus collector protocol
        try:
            lags, topics = self._read()
        except Exception:  # a scrape must not fail because the database is busy
            return
        lag = GaugeMetricFamily(
            "gitfeed_ingest_lag_seconds", "Seconds since each source's cursor last moved", labels=["service"]
        )
        for service, seconds in lags.items():
            lag.add_metric([service], seconds)
        yield lag
        kept = GaugeMetricFamily(
            "gitfeed_posts_stored", "Stored posts at or above each topic's threshold", labels=["topic"]
        )
        for topic, count in topics.items():
            kept.add_metric([topic], count)
        yield kept


class _MemoryCollector:
    """Reads the serving memory bounds' counters (snapshots dropped, cursor fallbacks, feedback kept
    and dropped) at scrape time."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read

    def collect(self):  # noqa: ANN201 - prometheus collector protocol
        bounded = CounterMetricFamily(
            "gitfeed_memory_bounds",
            "Snapshots evicted, cursor fallbacks rebuilt/shared/refused, feedback loaded and dropped",
            labels=["counter"],
        )
        for name, value in self._read().items():
            bounded.add_metric([name], value)
        yield bounded


class _CapsCollector:
    """Reads what ingest's caps cut or skipped (the store's durable counters) at scrape time."""

    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read

    def collect(self):  # noqa: ANN201 - prometheus collector protocol
        try:
            counts = self._read()
        except Exception:  # a scrape must not fail because the database is busy
            return
        capped = CounterMetricFamily(
            "gitfeed_ingest_capped",
            "Post fields cut, facets dropped, ops and blocks skipped by ingest's caps",
            labels=["counter"],
        )
        for name, value in counts.items():
            capped.add_metric([name], value)
        yield capped


class Metrics:
    """The server's instruments."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "gitfeed_requests",
            "Requests by route, feed and HTTP status",
            ["route", "feed", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gitfeed_request_seconds",
            "Request latency by route",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.snapshot_builds = Counter(
            "gitfeed_snapshot_builds",
            "Ranked snapshots built, by feed and kind",
            ["feed", "kind"],
            registry=self.registry,
        )
        self.snapshot_seconds = Histogram(
            "gitfeed_snapshot_build_seconds", "Time to rank one feed", ["feed"], registry=self.registry
        )
        self.interactions_skipped = Counter(
            "gitfeed_interactions_skipped",
            "sendInteractions items accepted but not stored (no item or event, or too long)",
            registry=self.registry,
        )
        self.snapshots_kept = Gauge(
            "gitfeed_snapshots_kept", "Snapshots held in memory for paging readers", registry=self.registry
        )
        self.snapshot_bytes = Gauge(
            "gitfeed_snapshot_bytes",
            "Bytes held by kept snapshots and views (bounded by FEEDGEN_SNAPSHOT_BUDGET_MB)",
            registry=self.registry,
        )

    def watch_store(self, read: Callable[[], tuple[dict[str, float], dict[str, int]]]) -> None:
        self.registry.register(_StoreCollector(read))

    def watch_memory(self, read: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_MemoryCollector(read))

    def watch_caps(self, read: Callable[[], dict[str, int]]) -> None:
        self.registry.register(_CapsCollector(read))

    def observe(self, route: str, feed: str, status: int, seconds: float) -> None:
        self.requests.labels(route, feed, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
