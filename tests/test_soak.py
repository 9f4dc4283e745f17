"""A CI-sized soak: `gitfeed run` (real processes) under a paced local relay, a feed load, three
faults (a dropped connection, a burst of malformed frames, SIGKILL of ingest) and the attacks at a
quarter of their rate with 8 MiB bodies (scripts/soaklib/attacks.py, all on 127.0.0.1), then the audit.

About a minute of run plus start-up and audit, on a store seeded with 1,200 posts (the full soak's
12,000 put every feed at its cap; here a few in each feed are enough to check the seed end to end). It
asserts what must hold on any machine: the audit (no post lost or doubled, deletes applied, like counts
exact, counters consistent, every seeded post still there unchanged), not one 5xx
or failed request for normal viewers, and the attacks verdict (each attack ran; none answered 5xx; no
forged token accepted; no fetch a steering issuer named). Lag and latency targets are for the full
soak (scripts/soak.py) on a quiet machine.

The PostgreSQL variant (`--backend postgres --servers 3`, a private cluster) runs the same minute
without the attacks and with the cluster's faults: ingest SIGKILLed, the ranking server SIGKILLed,
PostgreSQL stopped for 5 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firehose.settings import Settings
from scripts.soak import SoakConfig, print_summary, run_soak
from tests.support.capture_synth import write_synthetic_capture

# `gitfeed run` chooses the link scorer through FEEDGEN_SCORER once Settings has it; until then
# ingest scores with the model, and so must the audit (at a rate the model keeps up with here).
LINK = "scorer" in Settings.model_fields


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_soak_ci_run_loses_nothing_and_never_answers_5xx(tmp_path: Path) -> None:
    capture = tmp_path / "capture.zst"
    write_synthetic_capture(capture, 8_000, seed=3)  # looped about twice: loops are audited too
    lines: list[str] = []
    cfg = SoakConfig(
        duration=60,
        rate=300 if LINK else 120,
        burst_factor=3,
        burst_seconds=5,
        burst_every=30,
        req_rate=50,
        connections=4,
        faults=("drop", "malformed", "kill"),
        malformed=50,
        capture=capture,
        scorer="link" if LINK else "model",
        workdir=tmp_path / "soak",
        tmpfs_mib=256,
        drain_seconds=120,
        minute=20,
        attacks=True,
        attack_scale=0.25,
        attack_body_mib=8,
        seed_posts=1_200,
    )
    result = run_soak(cfg, say=lines.append)
    print_summary(result, say=lines.append)
    report = "\n".join(lines)

    assert result["audit"] is not None and result["audit"]["ok"], report
    assert result["audit"]["seeded"] == 1_200 and result["seed"]["per_feed"]["all"] == 1_200, report
    assert result["ingest"]["caught_up"], report
    assert result["audit"]["cursor"] > 8_000, report  # past the first loop of the capture
    assert result["audit"]["events_seen"] > result["audit"]["expected_events"], report  # malformed counted
    assert result["requests"]["requests"] > 1_000, report
    assert result["requests"]["5xx"] == 0 and result["requests"]["failed"] == 0, report
    assert {f["name"] for f in result["faults"] if f["started"] is not None} == {"drop", "malformed", "kill"}
    assert all("no " not in f["note"] for f in result["faults"]), report  # each fault found its target
    assert result["verdicts"]["attacks"]["ok"], report
    attacks = result["attacks"]["attacks"]
    assert attacks["cursor-replay"]["sent"] > 0 and attacks["tokens"]["status"].get("401", 0) > 0, report
    assert result["attacks"]["hosts"]["trickle-body"]["connections"] > 0, report  # the hostile host reached


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_soak_postgres_three_servers_survive_their_faults(tmp_path: Path) -> None:
    """`--backend postgres --servers 3` for a minute: ingest SIGKILLed, the ranking server SIGKILLed,
    PostgreSQL stopped for 5 s (and the relay faults); no 5xx, no failure outside the killed server's
    down span, no page chain with a repeat or a skip across servers, the audit exact."""
    from tests.support.stores import postgres_missing

    missing = postgres_missing()
    if missing:
        pytest.skip(missing)
    capture = tmp_path / "capture.zst"
    write_synthetic_capture(capture, 8_000, seed=3)
    lines: list[str] = []
    cfg = SoakConfig(
        duration=60,
        rate=300,
        burst_factor=3,
        burst_seconds=5,
        burst_every=30,
        req_rate=50,
        connections=4,
        faults=("drop", "kill", "leader", "pg"),
        capture=capture,
        scorer="link",
        workdir=tmp_path / "soak",
        drain_seconds=120,
        minute=20,
        attacks=False,  # the SQLite test above runs them; here the minute goes to the cluster's faults
        backend="postgres",
        servers=3,
        pg_seconds=5,
        seed_posts=600,  # written through the PostgreSQL store, audited from it
    )
    result = run_soak(cfg, say=lines.append)
    print_summary(result, say=lines.append)
    report = "\n".join(lines)

    assert result["audit"] is not None and result["audit"]["ok"], report
    assert result["audit"]["seeded"] == 600, report
    assert result["ingest"]["caught_up"], report
    started = {f["name"] for f in result["faults"] if f["started"] is not None}
    assert started == {"drop", "kill", "leader", "pg"}, report
    assert all("no " not in f["note"] for f in result["faults"]), report  # each fault found its target
    assert result["verdicts"]["5xx"]["ok"], report
    assert result["verdicts"]["pages"]["ok"], report
    cluster = result["cluster"]
    assert cluster["leader"]["takeover_s"] is not None and cluster["leader"]["back_s"] is not None, report
    assert cluster["restarts"]["ingest"] >= 1 and sum(cluster["restarts"].values()) >= 2, report
    assert cluster["pg_outage"]["requests"] > 0 and cluster["pg_outage"]["status"].get("200", 0) > 0, report
