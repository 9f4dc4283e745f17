"""The soak's rss verdict: flat is judged from the first minute after warm-up, and with attacks warm-up
lasts one snapshot TTL (the server keeps every snapshot of that window until then)."""

from __future__ import annotations

from scripts.soak import RSS_GROWTH, Sample, rss_growth

MIB = 2**20


def samples(rss_mib_at: dict[float, float]) -> list[Sample]:
    return [
        Sample(t, 0, None, 0, 0.0, 0, 0, 0, None, 0, {"serve": int(mib * MIB), "ingest": 100 * MIB})
        for t, mib in sorted(rss_mib_at.items())
    ]


def store_filling_then_flat() -> list[Sample]:
    """A server whose snapshot store fills for two minutes (a TTL of 120 s), then stays at its size."""
    return samples({t: min(130.0 + 16.0 * t / 60, 170.0) + (t % 7) * 0.1 for t in range(0, 600, 5)})


def test_growth_within_the_first_ttl_is_warm_up_not_drift() -> None:
    result = rss_growth(store_filling_then_flat(), 60.0, 600.0, settle=120.0)
    assert result["serve"]["from_minute"] == 3 and result["serve"]["ok"]
    assert abs(result["serve"]["drift"]) <= RSS_GROWTH


def test_without_settle_the_same_run_reads_as_growth() -> None:
    result = rss_growth(store_filling_then_flat(), 60.0, 600.0)
    assert result["serve"]["from_minute"] == 2 and not result["serve"]["ok"]


def test_growth_after_warm_up_still_fails() -> None:
    leaking = samples({t: 140.0 + 10.0 * t / 60 for t in range(0, 600, 5)})  # +10 MiB a minute, forever
    result = rss_growth(leaking, 60.0, 600.0, settle=120.0)
    assert not result["serve"]["ok"] and result["ingest"]["ok"]
